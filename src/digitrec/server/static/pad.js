// digitrec page, part one: the drawing pad. Strokes drawn with mouse, finger or pen, the brush, Undo
// and Clear (and their keys), images uploaded or dropped on the pad, and the pad's two shapes: square
// for one digit, wide for a number. Every change calls predictNow() (app.js, loaded next), which sends
// what the pad holds to the server.
"use strict";

// The pad in canvas pixels, per mode. Both are 336 high, so that a brush width draws the same stroke
// relative to the writing in either; the number pad is 3:1, room for a few digits even on a phone.
const PAD_SIZE = {digit: [336, 336], number: [1008, 336]};

const canvas = document.getElementById("canvas");
const ctx = canvas.getContext("2d");
const dropZone = document.getElementById("drop-zone");
const brush = document.getElementById("brush");
const brushValue = document.getElementById("brush-value");
const fileInput = document.getElementById("file");

const strokes = [];   // each: {width, points: [[x, y], ...]} in canvas pixels
let current = null;   // the stroke being drawn
let upload = null;    // {name, file, bitmap, fit} while an uploaded image is on the pad; fit: how its pixels map
                      // to the pad's, {scale, dx, dy} (null when the browser cannot show it: bitmap is null)
let mode = "digit";   // what the pad is for: "digit" (one digit, /api/predict) or "number" (/api/read)

// ---- drawing ----------------------------------------------------------------------------------
function paintBackground() {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
}

function paintStroke(stroke) {
  ctx.strokeStyle = "#111";
  ctx.fillStyle = "#111";
  ctx.lineWidth = stroke.width;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  const pts = stroke.points;
  if (pts.length === 1) {  // a tap: a dot
    ctx.beginPath();
    ctx.arc(pts[0][0], pts[0][1], stroke.width / 2, 0, 2 * Math.PI);
    ctx.fill();
    return;
  }
  ctx.beginPath();
  ctx.moveTo(pts[0][0], pts[0][1]);
  for (const [x, y] of pts.slice(1)) ctx.lineTo(x, y);
  ctx.stroke();
}

function paintUpload() {
  const {bitmap} = upload;
  upload.fit = null;
  if (!bitmap) return;
  const scale = Math.min(canvas.width / bitmap.width, canvas.height / bitmap.height);  // fit, keeping its shape
  upload.fit = {scale, dx: (canvas.width - bitmap.width * scale) / 2, dy: (canvas.height - bitmap.height * scale) / 2};
  ctx.drawImage(bitmap, upload.fit.dx, upload.fit.dy, bitmap.width * scale, bitmap.height * scale);
}

function repaint() {
  paintBackground();
  if (upload) paintUpload();
  for (const s of strokes) paintStroke(s);
}

function canvasPoint(event) {
  const rect = canvas.getBoundingClientRect();
  return [(event.clientX - rect.left) * canvas.width / rect.width,
          (event.clientY - rect.top) * canvas.height / rect.height];
}

canvas.addEventListener("pointerdown", (event) => {
  if (event.button !== 0) return;
  event.preventDefault();
  if (upload) { upload = null; repaint(); }  // drawing starts a new digit
  canvas.setPointerCapture(event.pointerId);
  current = {width: Number(brush.value), points: [canvasPoint(event)]};
  strokes.push(current);
  paintStroke(current);
  scheduleLive();
});

canvas.addEventListener("pointermove", (event) => {
  if (!current) return;
  event.preventDefault();
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
  for (const e of events.length ? events : [event]) current.points.push(canvasPoint(e));
  repaint();  // whole strokes, not segments: joins stay smooth and anti-aliasing does not pile up
  scheduleLive();
});

function endStroke(event) {
  if (!current) return;
  current = null;
  if (canvas.hasPointerCapture(event.pointerId)) canvas.releasePointerCapture(event.pointerId);
  predictNow();
}
canvas.addEventListener("pointerup", endStroke);
canvas.addEventListener("pointercancel", endStroke);

// ---- the pad's shape ----------------------------------------------------------------------------
function inkBounds() {
  const b = {x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity};
  for (const {width, points} of strokes) {
    for (const [x, y] of points) {
      b.x0 = Math.min(b.x0, x - width / 2);
      b.y0 = Math.min(b.y0, y - width / 2);
      b.x1 = Math.max(b.x1, x + width / 2);
      b.y1 = Math.max(b.y1, y + width / 2);
    }
  }
  return b;
}

function fitStrokes(width, height) {
  // The drawing moves to the middle of a pad of the new size, shrunk (strokes too) only if it must be.
  if (!strokes.length) return;
  const b = inkBounds();
  const scale = Math.min(1, 0.9 * width / (b.x1 - b.x0), 0.9 * height / (b.y1 - b.y0));
  const dx = width / 2 - scale * (b.x0 + b.x1) / 2, dy = height / 2 - scale * (b.y0 + b.y1) / 2;
  for (const stroke of strokes) {
    stroke.width *= scale;
    stroke.points = stroke.points.map(([x, y]) => [dx + scale * x, dy + scale * y]);
  }
}

function shapePad(next) {
  const [width, height] = PAD_SIZE[next];
  fitStrokes(width, height);
  canvas.width = width;  // resizing a canvas clears it
  canvas.height = height;
  mode = next;
  repaint();
}

// ---- tools --------------------------------------------------------------------------------------
function undo() {
  if (strokes.length) strokes.pop();
  else upload = null;
  repaint();
  predictNow();
}

function clearPad() {
  strokes.length = 0;
  upload = null;
  repaint();
  predictNow();
}

function setBrush(value) {
  brush.value = String(value);
  brushValue.textContent = brush.value;
}

document.getElementById("undo").addEventListener("click", undo);
document.getElementById("clear").addEventListener("click", clearPad);
brush.addEventListener("input", () => setBrush(brush.value));

document.addEventListener("keydown", (event) => {
  const typing = event.target instanceof HTMLInputElement && !["range", "radio", "checkbox"].includes(event.target.type);
  if (typing) return;
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") {
    event.preventDefault();
    undo();
  } else if (event.key === "Delete" || event.key === "Escape") {
    clearPad();
  } else if (event.key === "[" || event.key === "]") {
    setBrush(Number(brush.value) + (event.key === "]" ? 2 : -2));
  }
});

// ---- upload: file picker and drag-and-drop -----------------------------------------------------
async function useFile(file) {
  if (!file) return;
  if (!file.type.startsWith("image/")) {
    showError(`${file.name} is not an image: choose a PNG, JPEG, GIF, BMP or WebP file`);
    return;
  }
  let bitmap = null;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    // the browser cannot show it; the server may still read it, and says if not
  }
  strokes.length = 0;
  upload = {name: file.name, file, bitmap, fit: null};
  repaint();
  predictNow();
}

fileInput.addEventListener("change", () => {
  useFile(fileInput.files[0]);
  fileInput.value = "";  // choosing the same file again still fires "change"
});

for (const type of ["dragenter", "dragover"]) {
  dropZone.addEventListener(type, (event) => {
    event.preventDefault();
    dropZone.classList.add("dragging");
  });
}
dropZone.addEventListener("dragleave", () => dropZone.classList.remove("dragging"));
dropZone.addEventListener("drop", (event) => {
  event.preventDefault();
  dropZone.classList.remove("dragging");
  useFile(event.dataTransfer.files[0]);
});

setBrush(brush.value);
repaint();
