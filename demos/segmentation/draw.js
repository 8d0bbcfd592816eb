// Drawing on the segmentation demo's input canvas: shape tools (circle, rectangle, triangle: drag from a corner),
// a free-hand brush, and ink colours.

/**
 * Ink colours, kept away from the class colours of the mask (cnn.data.palette: maroon, green, olive), so that a right
 * prediction is told apart from the drawing under it.
 */
export const INK = Object.freeze([
  { name: 'yellow', colour: '#ffe119' }, { name: 'blue', colour: '#4363d8' }, { name: 'cyan', colour: '#42d4f4' },
  { name: 'magenta', colour: '#f032e6' }, { name: 'orange', colour: '#f58231' }, { name: 'white', colour: '#ffffff' },
  { name: 'black', colour: '#111111' },
]);

/**
 * Wires the tool buttons (`tools`: buttons with data-tool), the colour swatches (made in `colours`) and the pointer
 * on `canvas`. drawSize: the canvas width that sizes are given for. onStart() before the first stroke of a drag (the
 * canvas stops being a scene or an image); onChange() after every change (to segment again).
 */
export function setupDrawing({ canvas, tools, colours, drawSize, onStart, onChange }) {
  const g = canvas.getContext('2d', { willReadFrequently: true });
  let tool = 'circle';
  let ink = INK[0].colour;
  let drag = null; // { start: [x, y], last: [x, y], snapshot: ImageData }

  for (const { name, colour } of INK) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'swatch-button';
    b.style.background = colour;
    b.title = `${name} ink`;
    b.setAttribute('aria-pressed', String(colour === ink));
    b.setAttribute('aria-label', `${name} ink`);
    b.addEventListener('click', () => {
      ink = colour;
      for (const o of colours.children) o.setAttribute('aria-pressed', String(o === b));
    });
    colours.append(b);
  }
  tools.addEventListener('click', (e) => {
    const b = e.target.closest('button[data-tool]');
    if (!b) return;
    tool = b.dataset.tool;
    for (const o of tools.querySelectorAll('button')) o.setAttribute('aria-pressed', String(o === b));
  });

  const point = (e) => {
    const r = canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * canvas.width) / r.width, ((e.clientY - r.top) * canvas.height) / r.height];
  };

  function shape(from, to) {
    const unit = canvas.width / drawSize;
    g.fillStyle = g.strokeStyle = ink;
    g.imageSmoothingEnabled = true;
    const [x0, y0] = from;
    const [x1, y1] = to;
    g.beginPath();
    if (tool === 'circle') {
      g.arc(x0, y0, Math.max(2 * unit, Math.hypot(x1 - x0, y1 - y0)), 0, 2 * Math.PI);
    } else if (tool === 'rectangle') {
      g.rect(Math.min(x0, x1), Math.min(y0, y1), Math.max(2 * unit, Math.abs(x1 - x0)), Math.max(2 * unit, Math.abs(y1 - y0)));
    } else if (tool === 'triangle') {
      // Apex at the start point's row, centred; base along the pointer's row.
      g.moveTo((x0 + x1) / 2, y0);
      g.lineTo(x1, y1);
      g.lineTo(x0, y1);
      g.closePath();
    }
    g.fill();
  }

  function brushTo(p) {
    g.strokeStyle = ink;
    g.lineWidth = 14 * (canvas.width / drawSize);
    g.lineCap = g.lineJoin = 'round';
    g.beginPath();
    g.moveTo(...drag.last);
    g.lineTo(...p);
    g.stroke();
    drag.last = p;
  }

  canvas.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return;
    e.preventDefault();
    canvas.setPointerCapture(e.pointerId);
    onStart();
    const p = point(e);
    drag = { start: p, last: p, snapshot: g.getImageData(0, 0, canvas.width, canvas.height) };
    if (tool === 'brush') brushTo(p);
    else shape(p, p);
    onChange();
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!drag) return;
    if (tool === 'brush') {
      for (const ev of e.getCoalescedEvents?.() ?? [e]) brushTo(point(ev));
    } else {
      g.putImageData(drag.snapshot, 0, 0); // the shape follows the pointer until it is released
      shape(drag.start, point(e));
    }
    onChange();
  });
  const end = () => {
    if (!drag) return;
    drag = null;
    onChange();
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
}
