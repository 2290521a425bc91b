"""axe-core (vendored from the npm registry under tests/e2e/vendor/axe-core/, no CDN) run in the real browser.

The script is added to a browser context as an init script, so that every page of that context has `axe`
without a <script> element of its own (a Content-Security-Policy that forbids inline scripts does not apply
to init scripts).
"""

from __future__ import annotations

from pathlib import Path

AXE_JS = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"

# axe's defaults (WCAG 2.0/2.1 A and AA, best practices) plus the 24 px target size of WCAG 2.2 AA, which
# KWCAG 2.2 also asks for ("컨트롤의 크기") and axe leaves off by default.
AXE_OPTIONS = {"rules": {"target-size": {"enabled": True}}, "resultTypes": ["violations"]}
BLOCKING_IMPACTS = ("critical", "serious")

_RUN = """async (options) => {
  const result = await axe.run(document, options);
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ")),
    count: v.nodes.length,
  }));
}"""


def axe_install(context) -> None:
    context.add_init_script(path=str(AXE_JS))


def axe_serious_violations(page) -> list[dict]:
    """The critical and serious axe violations on the page as it is now."""
    return [v for v in page.evaluate(_RUN, AXE_OPTIONS) if v["impact"] in BLOCKING_IMPACTS]


def axe_describe(where: str, violations: list[dict]) -> str:
    return "\n".join(
        f"{where}: {v['impact']} {v['id']} ×{v['count']} ({v['help']}): {', '.join(v['nodes'])}" for v in violations
    )
