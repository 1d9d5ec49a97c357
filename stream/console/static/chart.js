// The treasury chart in plain SVG: balance history, the P10–P90 forecast band, the P50 path, the floor.
// Amounts become Numbers here only to place pixels; nothing is summed or compared as money.
const NS = "http://www.w3.org/2000/svg";
const W = 960, H = 360, LEFT = 84, RIGHT = 16, TOP = 16, BOTTOM = 32;

function el(name, attrs, text) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

const day = (iso) => Date.parse(`${iso}T00:00:00Z`) / 86400000;

export function bandChart({ balances, points, floor }) {
  const svg = el("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, "data-testid": "forecast-chart" });
  const xs = [...balances.map((p) => day(p.date)), ...points.map((p) => day(p.date))];
  const ys = [
    ...balances.map((p) => Number(p.balance)),
    ...points.flatMap((p) => [Number(p.p10), Number(p.p90)]),
    ...(floor === null ? [] : [Number(floor)]),
  ];
  if (!xs.length) return svg;
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const pad = (y1 - y0 || Math.abs(y1) || 1) * 0.06;
  y0 -= pad; y1 += pad;
  const sx = (x) => LEFT + ((x - x0) / (x1 - x0 || 1)) * (W - LEFT - RIGHT);
  const sy = (y) => TOP + (1 - (y - y0) / (y1 - y0)) * (H - TOP - BOTTOM);
  const path = (pts) => pts.map(([x, y], i) => `${i ? "L" : "M"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join("");

  svg.append(el("line", { class: "axis", x1: LEFT, y1: H - BOTTOM, x2: W - RIGHT, y2: H - BOTTOM }));
  svg.append(el("line", { class: "axis", x1: LEFT, y1: TOP, x2: LEFT, y2: H - BOTTOM }));
  for (let i = 0; i <= 4; i++) {
    const y = y0 + ((y1 - y0) * i) / 4;
    svg.append(el("text", { x: LEFT - 6, y: sy(y) + 4, "text-anchor": "end" }, formatYuan(y)));
  }
  for (const iso of [balances[0]?.date, points[0]?.date, points.at(-1)?.date].filter(Boolean)) {
    svg.append(el("text", { x: sx(day(iso)), y: H - 10, "text-anchor": "middle" }, iso));
  }
  if (points.length) {
    const upper = points.map((p) => [day(p.date), Number(p.p90)]);
    const lower = points.map((p) => [day(p.date), Number(p.p10)]).reverse();
    svg.append(el("path", { class: "band", d: `${path([...upper, ...lower])}Z`, "data-testid": "band" }));
    svg.append(el("path", { class: "p50", d: path(points.map((p) => [day(p.date), Number(p.p50)])), "data-testid": "p50" }));
  }
  if (balances.length > 1) {
    svg.append(el("path", { class: "balance", d: path(balances.map((p) => [day(p.date), Number(p.balance)])), "data-testid": "balance" }));
  }
  if (floor !== null) {
    svg.append(el("line", { class: "floor", x1: LEFT, x2: W - RIGHT, y1: sy(Number(floor)), y2: sy(Number(floor)), "data-testid": "floor" }));
  }
  return svg;
}

function formatYuan(value) {
  const abs = Math.abs(value);
  if (abs >= 1e8) return `${(value / 1e8).toFixed(2)}亿`;
  if (abs >= 1e4) return `${(value / 1e4).toFixed(0)}万`;
  return value.toFixed(0);
}
