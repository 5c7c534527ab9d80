// Renders the math that pymdownx.arithmatex (generic mode) leaves in the page,
// with the KaTeX copy under assets/katex (no CDN: the site works offline).
// Material's instant navigation swaps pages without a reload: document$
// fires on every page.
function kerasGraftRenderMath() {
  if (typeof renderMathInElement !== "function") return;
  document.querySelectorAll(".arithmatex").forEach(function (el) {
    renderMathInElement(el, {
      delimiters: [
        { left: "\\(", right: "\\)", display: false },
        { left: "\\[", right: "\\]", display: true },
      ],
      throwOnError: false,
    });
  });
  // Markdown cells of the tutorial notebooks (mkdocs-jupyter) keep $...$.
  document.querySelectorAll(".jp-RenderedMarkdown").forEach(function (el) {
    renderMathInElement(el, {
      delimiters: [
        { left: "$$", right: "$$", display: true },
        { left: "$", right: "$", display: false },
      ],
      throwOnError: false,
    });
  });
}
if (typeof document$ !== "undefined") {
  document$.subscribe(kerasGraftRenderMath);
} else {
  document.addEventListener("DOMContentLoaded", kerasGraftRenderMath);
}
