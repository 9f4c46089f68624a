"""Built-in benchmarks, one module each; every module here registers its tasks on import."""
