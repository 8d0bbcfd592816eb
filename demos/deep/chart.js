/**
 * The gradient-flow chart, drawn the same way as an SVG string (Node) and on a canvas (the page): `layoutChart` turns
 * the data into a list of drawing primitives, `toSvg` and `drawCanvas` render them. Isomorphic, no dependencies.
 *
 * Left panel: RMS gradient per weight of each conv layer (log scale) against depth, one line per net.
 * Right panel: training loss per batch (faint) and its trailing 10-batch mean (solid), one line per net.
 *
 * @typedef {{ key: string, label: string, color: string, gradient: number[], losses: number[],
 *   ratio?: number, accuracy?: number }} Series
 *   gradient: per conv layer, input side first (may be empty before the net has run); losses: per batch
 */

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
export const SMOOTH = 10;

/** Trailing mean over `window` values (shorter at the start). */
export function smooth(values, window = SMOOTH) {
  const out = [];
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
    if (i >= window) sum -= values[i - window];
    out.push(sum / Math.min(i + 1, window));
  }
  return out;
}

/** 1.2e-5 style, or plain digits for values in [0.01, 1000). */
export function formatNumber(v, digits = 2) {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 0.01 && a < 1000) return v.toPrecision(digits).replace(/\.?0+$/, '');
  return v.toExponential(digits - 1).replace('e+', 'e');
}

/**
 * @param {{ series: Series[], totalSteps: number, depth: number, title?: string, note?: string }} data
 *   totalSteps: x range of the loss panel; depth: number of conv layers
 * @param {{ width?: number, height?: number }} [size]
 */
export function layoutChart(data, { width = 1000, height = 460 } = {}) {
  const prims = [];
  const { series, totalSteps, depth } = data;
  const text = (x, y, s, o = {}) => prims.push({ type: 'text', x, y, text: s, size: 12, anchor: 'start', color: '#333',
    weight: 'normal', ...o });
  const line = (x1, y1, x2, y2, stroke = '#999', o = {}) => prims.push({ type: 'line', x1, y1, x2, y2, stroke, width: 1, ...o });

  prims.push({ type: 'rect', x: 0, y: 0, w: width, h: height, fill: '#fff' });
  let top = 14;
  if (data.title) {
    text(width / 2, 24, data.title, { size: 16, anchor: 'middle', weight: 'bold' });
    top = 40;
  }
  const legendRows = series.length;
  const bottomSpace = 52 + legendRows * 18 + (data.note ? 18 : 0);
  const gap = 80;
  const left = 70;
  const right = 20;
  const panelW = (width - left - right - gap) / 2;
  const panelTop = top + 24;
  const panelH = height - panelTop - bottomSpace;
  const A = { x: left, y: panelTop, w: panelW, h: panelH };
  const B = { x: left + panelW + gap, y: panelTop, w: panelW, h: panelH };

  // ---- panel A: gradient norm per weight vs depth, log scale
  text(A.x + A.w / 2, top + 12, 'Gradient norm per weight by conv layer (log scale)', { anchor: 'middle', size: 13,
    weight: 'bold' });
  const all = series.flatMap((s) => s.gradient).filter((v) => v > 0 && Number.isFinite(v));
  let lo = all.length ? Math.floor(Math.log10(Math.min(...all))) : -4;
  let hi = all.length ? Math.ceil(Math.log10(Math.max(...all))) : 0;
  if (hi - lo < 2) { lo -= 1; hi += 1; }
  const gx = (i) => A.x + (depth > 1 ? (i / (depth - 1)) * A.w : A.w / 2); // i: 0-based layer index
  const gy = (v) => A.y + A.h - ((Math.log10(v) - lo) / (hi - lo)) * A.h;
  const decadeStep = Math.max(1, Math.ceil((hi - lo) / 10));
  for (let d = lo; d <= hi; d++) {
    const y = gy(10 ** d);
    line(A.x, y, A.x + A.w, y, d % decadeStep === 0 ? '#e4e4e4' : '#f3f3f3');
    if ((d - lo) % decadeStep === 0) text(A.x - 6, y + 4, `1e${d}`, { anchor: 'end', size: 11, color: '#555' });
  }
  for (let i = 0; i < depth; i++) {
    const x = gx(i);
    line(x, A.y + A.h, x, A.y + A.h + 4, '#999');
    if (i === 0 || (i + 1) % 3 === 0 || i === depth - 1) text(x, A.y + A.h + 16, String(i + 1), { anchor: 'middle', size: 11, color: '#555' });
  }
  line(A.x, A.y, A.x, A.y + A.h, '#888');
  line(A.x, A.y + A.h, A.x + A.w, A.y + A.h, '#888');
  text(A.x + A.w / 2, A.y + A.h + 34, 'conv layer (1 = input side → output side)', { anchor: 'middle', size: 12 });
  text(A.x - 52, A.y + A.h / 2, '‖grad‖₂ / √weights', { anchor: 'middle', size: 12, rotate: -90 });
  for (const s of series) {
    const pts = s.gradient.map((v, i) => [gx(i), gy(Math.max(v, 10 ** lo))]).filter(([, y]) => Number.isFinite(y));
    if (pts.length > 1) prims.push({ type: 'polyline', points: pts, stroke: s.color, width: 2.2 });
    for (const [x, y] of pts) prims.push({ type: 'circle', x, y, r: 2.8, fill: s.color });
  }

  // ---- panel B: loss per batch
  text(B.x + B.w / 2, top + 12, `Training loss per batch (solid: mean of last ${SMOOTH})`, { anchor: 'middle', size: 13,
    weight: 'bold' });
  const losses = series.flatMap((s) => s.losses).filter(Number.isFinite);
  const maxLoss = Math.max(2.5, Math.min(4, Math.ceil((losses.length ? Math.max(...losses) : 2.5) * 2) / 2));
  const steps = Math.max(1, totalSteps);
  const lx = (i) => B.x + (i / steps) * B.w; // i: 1-based batch number
  const ly = (v) => B.y + B.h - (Math.min(Math.max(v, 0), maxLoss) / maxLoss) * B.h;
  for (let v = 0; v <= maxLoss + 1e-9; v += 0.5) {
    line(B.x, ly(v), B.x + B.w, ly(v), '#ececec');
    text(B.x - 6, ly(v) + 4, v.toFixed(1), { anchor: 'end', size: 11, color: '#555' });
  }
  const stepTick = niceStep(steps / 6);
  for (let t = 0; t <= steps; t += stepTick) {
    line(lx(t), B.y + B.h, lx(t), B.y + B.h + 4, '#999');
    text(lx(t), B.y + B.h + 16, String(t), { anchor: 'middle', size: 11, color: '#555' });
  }
  // ln(10): the loss of a uniform guess over 10 digits
  line(B.x, ly(Math.LN10), B.x + B.w, ly(Math.LN10), '#999', { dash: [4, 4] });
  text(B.x + B.w - 4, ly(Math.LN10) - 5, 'chance (ln 10)', { anchor: 'end', size: 11, color: '#777' });
  line(B.x, B.y, B.x, B.y + B.h, '#888');
  line(B.x, B.y + B.h, B.x + B.w, B.y + B.h, '#888');
  text(B.x + B.w / 2, B.y + B.h + 34, 'training step (batch of 32)', { anchor: 'middle', size: 12 });
  text(B.x - 40, B.y + B.h / 2, 'cross-entropy loss', { anchor: 'middle', size: 12, rotate: -90 });
  for (const s of series) {
    if (s.losses.length < 1) continue;
    prims.push({ type: 'polyline', points: s.losses.map((v, i) => [lx(i + 1), ly(v)]), stroke: s.color, width: 1,
      opacity: 0.25 });
    prims.push({ type: 'polyline', points: smooth(s.losses).map((v, i) => [lx(i + 1), ly(v)]), stroke: s.color,
      width: 2.2 });
  }

  // ---- legend, with the first/last ratio when known
  let y = A.y + A.h + 62;
  for (const s of series) {
    line(A.x, y - 4, A.x + 26, y - 4, s.color, { width: 3 });
    let label = s.label;
    if (s.ratio !== undefined && Number.isFinite(s.ratio)) label += ` — first/last layer gradient ${formatNumber(s.ratio)}`;
    if (s.losses.length) label += ` — loss ${smooth(s.losses).at(-1).toFixed(2)} after ${s.losses.length} steps`;
    if (s.accuracy !== undefined) label += `, held-out accuracy ${(s.accuracy * 100).toFixed(1)}%`;
    text(A.x + 34, y, label, { size: 12.5 });
    y += 18;
  }
  if (data.note) text(A.x, y + 2, data.note, { size: 11.5, color: '#555' });
  return { width, height, prims };
}

function niceStep(raw) {
  const p = 10 ** Math.floor(Math.log10(Math.max(raw, 1)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const r2 = (v) => Math.round(v * 100) / 100;

/** The chart as a standalone SVG document. */
export function toSvg({ width, height, prims }) {
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family='${FONT}'>`];
  for (const p of prims) {
    if (p.type === 'rect') out.push(`<rect x="${p.x}" y="${p.y}" width="${p.w}" height="${p.h}" fill="${p.fill}"/>`);
    else if (p.type === 'line') {
      out.push(`<line x1="${r2(p.x1)}" y1="${r2(p.y1)}" x2="${r2(p.x2)}" y2="${r2(p.y2)}" stroke="${p.stroke}" ` +
        `stroke-width="${p.width}"${p.dash ? ` stroke-dasharray="${p.dash.join(' ')}"` : ''}/>`);
    } else if (p.type === 'polyline') {
      out.push(`<polyline fill="none" stroke="${p.stroke}" stroke-width="${p.width}" stroke-linejoin="round"` +
        `${p.opacity !== undefined ? ` stroke-opacity="${p.opacity}"` : ''} points="${p.points.map(([x, y]) => `${r2(x)},${r2(y)}`).join(' ')}"/>`);
    } else if (p.type === 'circle') out.push(`<circle cx="${r2(p.x)}" cy="${r2(p.y)}" r="${p.r}" fill="${p.fill}"/>`);
    else if (p.type === 'text') {
      const rot = p.rotate ? ` transform="rotate(${p.rotate} ${r2(p.x)} ${r2(p.y)})"` : '';
      out.push(`<text x="${r2(p.x)}" y="${r2(p.y)}" font-size="${p.size}" fill="${p.color}" text-anchor="` +
        `${{ start: 'start', middle: 'middle', end: 'end' }[p.anchor]}"${p.weight !== 'normal' ? ` font-weight="${p.weight}"` : ''}` +
        `${rot}>${esc(p.text)}</text>`);
    }
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Draws the chart on a 2D canvas context (sized width × height in CSS pixels; `scale` for high-DPI canvases). */
export function drawCanvas(ctx, { prims }, scale = 1) {
  ctx.save();
  ctx.setTransform(scale, 0, 0, scale, 0, 0);
  for (const p of prims) {
    ctx.setLineDash(p.dash ?? []);
    ctx.globalAlpha = p.opacity ?? 1;
    if (p.type === 'rect') {
      ctx.fillStyle = p.fill;
      ctx.fillRect(p.x, p.y, p.w, p.h);
    } else if (p.type === 'line' || p.type === 'polyline') {
      const pts = p.type === 'line' ? [[p.x1, p.y1], [p.x2, p.y2]] : p.points;
      ctx.strokeStyle = p.stroke;
      ctx.lineWidth = p.width;
      ctx.lineJoin = 'round';
      ctx.beginPath();
      pts.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      ctx.stroke();
    } else if (p.type === 'circle') {
      ctx.fillStyle = p.fill;
      ctx.beginPath();
      ctx.arc(p.x, p.y, p.r, 0, 2 * Math.PI);
      ctx.fill();
    } else if (p.type === 'text') {
      ctx.fillStyle = p.color;
      ctx.font = `${p.weight === 'bold' ? 'bold ' : ''}${p.size}px ${FONT}`;
      ctx.textAlign = { start: 'left', middle: 'center', end: 'right' }[p.anchor];
      ctx.textBaseline = 'alphabetic';
      if (p.rotate) {
        ctx.save();
        ctx.translate(p.x, p.y);
        ctx.rotate((p.rotate * Math.PI) / 180);
        ctx.fillText(p.text, 0, 0);
        ctx.restore();
      } else ctx.fillText(p.text, p.x, p.y);
    }
  }
  ctx.restore();
}
