// digitrec page: a drawing pad that sends the raw canvas (or an uploaded file) to /api/predict and
// shows the server's answer. No preprocessing happens here: the server does it, one code path.
// With several models served, each one answers the same drawing side by side, and the chosen one is
// shown from the inside: insight.js, loaded after this file.
"use strict";

const UNSURE_BELOW = 0.6;      // confidence under which the answer is shown as "not sure"
const LIVE_DEBOUNCE_MS = 150;  // pause in drawing before a live prediction is requested

const canvas = document.getElementById("canvas");
const ctx = canvas.getContext("2d");
const dropZone = document.getElementById("drop-zone");
const brush = document.getElementById("brush");
const brushValue = document.getElementById("brush-value");
const fileInput = document.getElementById("file");
const result = document.getElementById("result");
const digitEl = document.getElementById("digit");
const confidenceEl = document.getElementById("confidence");
const statusEl = document.getElementById("status");
const barsEl = document.getElementById("bars");
const seenImg = document.getElementById("seen");
const seenEmpty = document.getElementById("seen-empty");

const strokes = [];   // each: {width, points: [[x, y], ...]} in canvas pixels
let current = null;   // the stroke being drawn
let upload = null;    // {name, bitmap} while an uploaded image is shown on the pad
let liveTimer = 0;
let requestSeq = 0;   // answers to older requests than the last shown one are dropped
let shownSeq = 0;
let inFlight = null;  // AbortController of the requests under way
let models = [];      // the served models (GET /api/models), the default first
let selected = null;  // the name of the model whose answer and insides are shown
let last = null;      // {body, origin} of the last drawing or upload sent, to send again on a change

// ---- bars -------------------------------------------------------------------------------------
const bars = [];
for (let d = 0; d < 10; d++) {
  const li = document.createElement("li");
  li.innerHTML = `<span class="label">${d}</span><span class="track"><span class="fill"></span></span>` +
                 `<span class="pct">–</span>`;
  barsEl.appendChild(li);
  bars.push({li, fill: li.querySelector(".fill"), pct: li.querySelector(".pct")});
}

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
  const {bitmap} = upload;  // fit inside the pad, keeping the aspect ratio
  const scale = Math.min(canvas.width / bitmap.width, canvas.height / bitmap.height);
  const w = bitmap.width * scale, h = bitmap.height * scale;
  ctx.drawImage(bitmap, (canvas.width - w) / 2, (canvas.height - h) / 2, w, h);
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
  const typing = event.target instanceof HTMLInputElement && event.target.type !== "range";
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
  strokes.length = 0;
  try {
    upload = {name: file.name, bitmap: await createImageBitmap(file)};
  } catch {
    upload = null;  // the browser cannot show it; the server may still read it, and says if not
  }
  repaint();
  const body = new FormData();
  body.append("file", file, file.name);
  request(body, `from ${file.name}`);
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

// ---- predictions ---------------------------------------------------------------------------------
function scheduleLive() {
  clearTimeout(liveTimer);
  liveTimer = setTimeout(predictNow, LIVE_DEBOUNCE_MS);
}

function predictNow() {
  clearTimeout(liveTimer);
  if (!strokes.length && !upload) {  // an empty pad has no digit: say so, ask nothing
    if (inFlight) inFlight.abort();
    requestSeq++;
    shownSeq = requestSeq;
    last = null;
    showEmpty("Draw a digit");
    for (const model of models) showCard(model.name, null, null);
    showInsideEmpty("Draw a digit to see inside the model.");
    return;
  }
  if (upload && !strokes.length) return;  // the upload's own answer is already shown
  request(JSON.stringify({image: canvas.toDataURL("image/png")}), "");
}

function apiPath(path, model, extra = {}) {
  const query = new URLSearchParams(model == null ? extra : {model, ...extra}).toString();
  return query ? `${path}?${query}` : path;
}

async function post(path, body, signal) {
  const headers = typeof body === "string" ? {"Content-Type": "application/json"} : {};
  const response = await fetch(path, {method: "POST", body, headers, signal});
  return [response, await response.json()];
}

async function request(body, origin) {
  if (inFlight) inFlight.abort();
  const controller = new AbortController();
  inFlight = controller;
  const seq = ++requestSeq;
  last = {body, origin};
  result.dataset.state = result.dataset.state === "empty" ? "empty" : "pending";
  askOthers(body, seq, controller.signal);
  askInside(body, seq, controller.signal);
  let response, answer;
  try {
    [response, answer] = await post(apiPath("/api/predict", selected), body, controller.signal);
  } catch (err) {
    if (err.name === "AbortError") return;
    if (seq >= shownSeq) showError("The server did not answer: is `digitrec serve` still running?");
    return;
  } finally {
    if (inFlight === controller) inFlight = null;
  }
  if (seq < shownSeq) return;
  shownSeq = seq;
  showCard(selected, response, answer);
  if (response.ok) showPrediction(answer, origin);
  else if (response.status === 422) showEmpty("No digit found: draw a digit", answer.detail);
  else showError(answer.detail || `error ${response.status}`);
}

function resetBars() {
  for (const b of bars) {
    b.li.classList.remove("winner");
    b.fill.style.width = "0";
    b.pct.textContent = "–";
  }
}

function showEmpty(message, detail) {
  result.dataset.state = "empty";
  digitEl.textContent = "";
  confidenceEl.textContent = "";
  statusEl.textContent = message;
  statusEl.title = detail || "";
  resetBars();
  seenImg.hidden = true;
  seenEmpty.hidden = false;
}

function showError(message) {
  showEmpty(message);
  result.dataset.state = "error";
}

function showPrediction(answer, origin) {
  const unsure = answer.confidence < UNSURE_BELOW;
  result.dataset.state = unsure ? "unsure" : "ok";
  digitEl.textContent = String(answer.digit);
  const pct = (answer.confidence * 100).toFixed(1);
  confidenceEl.textContent = `${pct}% sure${origin ? " " + origin : ""}`;
  const second = answer.probabilities
    .map((p, d) => [p, d]).filter(([, d]) => d !== answer.digit).sort((a, b) => b[0] - a[0])[0][1];
  statusEl.textContent = unsure
    ? `Not sure: it could also be a ${second}. Try drawing it bigger or more clearly.`
    : "Recognised";
  statusEl.title = "";
  answer.probabilities.forEach((p, d) => {
    const b = bars[d];
    b.li.classList.toggle("winner", d === answer.digit);
    b.fill.style.width = `${(p * 100).toFixed(1)}%`;
    b.pct.textContent = `${Math.round(p * 100)}%`;
    b.li.setAttribute("aria-label", `${d}: ${(p * 100).toFixed(1)} percent`);
  });
  seenImg.src = answer.preprocessed;
  seenImg.hidden = false;
  seenEmpty.hidden = true;
}

setBrush(brush.value);
repaint();
showEmpty("Draw a digit");
