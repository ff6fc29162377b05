"""Just enough PromQL: literal RE2 patterns, and the metric names an expression reads."""

from __future__ import annotations

import re


def regex_literal(text: str) -> str:
    """`text` as an RE2 pattern matching exactly itself (Kubernetes names only need '.')."""
    return re.sub(r"([.\\+*?()|\[\]{}^$])", r"\\\1", text)


_PROMQL_WORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
                           "unless", "offset", "inf", "nan", "atan2"})


def expr_metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression reads (a small tokenizer: enough for our rules)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range selectors
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for m in re.finditer(r"(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", text):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in _PROMQL_WORDS:
            continue
        names.add(word)
    return names
