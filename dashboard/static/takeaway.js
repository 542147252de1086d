// The page shell's script (dashboard/components/shell.py), served from app/static/ so that the
// site's Content-Security-Policy (script-src 'self') allows it.
//
// 1. <html lang> follows the dashboard's language (WCAG 3.1.1: screen readers pick their voice).
// 2. Chart take-away: a button [data-takeaway-format="png"|"svg"] draws its chart again with
//    plotly.js's own toImage, adding the chart's title and its source line, and downloads the file.
//    Everything happens in the browser: no server-side renderer, no request.
(() => {
  const marker = document.querySelector("[data-shell-lang]");
  if (marker) document.documentElement.lang = marker.dataset.shellLang;
  if (window.__observatoireTakeaway) return;
  window.__observatoireTakeaway = true;

  const MIN_WIDTH = 900; // a phone's narrow chart is exported at a readable width

  function plotOf(chartKey) {
    const box = document.querySelector(`.st-key-${CSS.escape(chartKey)}`);
    return box && box.querySelector(".js-plotly-plot");
  }

  function exportLayout(plot, title, note, extraTop) {
    const layout = JSON.parse(JSON.stringify(plot.layout || {}));
    const margin = layout.margin || {};
    layout.margin = { ...margin, t: (margin.t || 20) + extraTop, l: Math.max(margin.l || 0, 20),
                      r: Math.max(margin.r || 0, 20) };
    layout.title = {
      text: `<b>${title}</b>`,
      subtitle: { text: note, font: { size: 12, color: "#444444" } },
      x: 0, xref: "container", xanchor: "left", pad: { l: 20, t: 14 },
      y: 1, yref: "container", yanchor: "top", font: { size: 17, color: "#1a1a1a" },
    };
    layout.paper_bgcolor = "#ffffff";
    return layout;
  }

  async function download(button) {
    const plot = plotOf(button.dataset.takeawayChart);
    if (!plot || !window.Plotly) return;
    const format = button.dataset.takeawayFormat;
    const extraTop = 84;
    const width = Math.max(plot.offsetWidth, MIN_WIDTH);
    const height = (plot.layout && plot.layout.height ? plot.layout.height : plot.offsetHeight) + extraTop;
    const figure = {
      data: plot.data,
      layout: exportLayout(plot, button.dataset.takeawayTitle, button.dataset.takeawayNote, extraTop),
      config: { topojsonURL: plot._context && plot._context.topojsonURL },
    };
    const url = await window.Plotly.toImage(figure, { format, width, height, scale: format === "png" ? 2 : 1 });
    const link = document.createElement("a");
    link.href = url;
    link.download = `${button.dataset.takeawayFile}.${format}`;
    document.body.appendChild(link);
    link.click();
    link.remove();
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-takeaway-format]");
    if (!button) return;
    event.preventDefault();
    button.setAttribute("aria-busy", "true");
    download(button).finally(() => button.removeAttribute("aria-busy"));
  });
})();
