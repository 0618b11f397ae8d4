"""Check the layout rules of ARCHITECTURE.md; exits non-zero and says which rule broke.

1. No module under forum/ is longer than 400 lines.
2. The bottom layers (models, extensions, text, errors, config, database, pagecache, params, staff_lists) import no
   feature package.
3. At most 5 function-level imports of forum.* outside the app factory (forum/__init__.py): features meet
   through lower modules and signals, not through imports hidden inside functions to dodge cycles.
4. A feature package's __init__.py exports its blueprint and nothing else.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "forum"
MAX_LINES = 400
MAX_FUNCTION_IMPORTS = 5
BOTTOM = {
    "models",
    "extensions",
    "text",
    "errors",
    "config",
    "database",
    "pagecache",
    "params",
    "staff_lists",
}
FEATURES = {"auth", "care", "feeds", "moderation", "notifications", "pages", "similar", "stories"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        return [node.module]
    return []


def check() -> list[str]:
    problems: list[str] = []
    function_imports: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        name = module_name(path)
        rel = path.relative_to(ROOT)
        lines = source.count("\n") + 1
        if lines > MAX_LINES:
            problems.append(f"{rel}: {lines} lines (at most {MAX_LINES})")
        tree = ast.parse(source, filename=str(rel))
        layer = name.split(".")[1] if name.count(".") >= 1 else ""
        for node in ast.walk(tree):
            for target in imported_modules(node):
                parts = target.split(".")
                if parts[0] != "forum" or len(parts) < 2:
                    continue
                if layer in BOTTOM and parts[1] in FEATURES:
                    problems.append(f"{rel}:{node.lineno}: bottom layer '{layer}' imports feature '{target}'")
        if name != "forum":
            for func in ast.walk(tree):
                if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                    for node in ast.walk(func):
                        if any(t.split(".")[0] == "forum" for t in imported_modules(node)):
                            function_imports.append(f"{rel}:{node.lineno}")
        if path.name == "__init__.py" and layer in FEATURES and name.count(".") == 1:
            public = set()
            for node in tree.body:
                if isinstance(node, ast.Assign):
                    public |= {t.id for t in node.targets if isinstance(t, ast.Name)}
                elif isinstance(node, ast.FunctionDef | ast.ClassDef):
                    public.add(node.name)
                elif isinstance(node, ast.ImportFrom):
                    public |= {a.asname or a.name for a in node.names}
            extra = sorted(n for n in public if n not in {"bp", "annotations"} and not n.startswith("_"))
            if extra:
                problems.append(f"{rel}: exports {extra}; a feature's __init__ exports only its blueprint")
    if len(function_imports) > MAX_FUNCTION_IMPORTS:
        problems.append(
            f"{len(function_imports)} function-level imports of forum.* (at most {MAX_FUNCTION_IMPORTS}): "
            + ", ".join(function_imports)
        )
    return problems


def main() -> int:
    problems = check()
    for problem in problems:
        print(problem)
    print("layout: ok" if not problems else f"layout: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
