r"""Text into HTML and JavaScript safely: a question may hold `<`, and a prediction may hold `</script>`.

>>> esc('<b> & "x"')
'&lt;b&gt; &amp; &quot;x&quot;'
>>> script_json({"q": "</script><b>"})
'{"q":"\\u003c/script\\u003e\\u003cb\\u003e"}'
>>> script_json(float("nan"))
'null'
"""

from __future__ import annotations

import html
import json
import math
from typing import Any
from urllib.parse import urlencode

# JSON is JavaScript except for these two line separators; `<`, `>` and `&` escaped keep a </script> or an
# HTML comment opener inside a string from closing the script element around it.
_SCRIPT_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def esc(value: Any) -> str:
    """Text (or a number) as HTML text or an attribute value."""
    return html.escape("" if value is None else str(value), quote=True)


def finite(value: Any) -> Any:
    """NaN and infinities as None, through lists and dicts: JSON has no NaN, and a score may be one."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def script_json(value: Any) -> str:
    """Compact JSON that is safe inside a <script> element and as a JavaScript expression in a .js file."""
    text = json.dumps(finite(value), ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)
    for char, escaped in _SCRIPT_UNSAFE.items():
        text = text.replace(char, escaped)
    return text


def hash_link(**params: Any) -> str:
    """An href into a view of the page, e.g. `#task=shapes-vqa&amp;filter=wrong` (report.js reads the hash).

    >>> hash_link(task="run1/vqa", q="a&b")
    '#task=run1/vqa&amp;q=a%26b'
    """
    return esc("#" + urlencode({k: v for k, v in params.items() if v not in (None, "")}, safe="/"))


def js_call(function: str, *args: Any) -> str:
    """`window.dditPage("task", 1, [...]);` for a data file (script tags load from file://, fetch() does not)."""
    return f"window.{function}({','.join(script_json(a) for a in args)});\n"
