// digitrec page: a drawing pad that sends the raw canvas (or an uploaded file) to /api/predict and
// shows the server's answer. No preprocessing happens here: the server does it, one code path.
// With several models served (GET /api/models), each one answers the same drawing side by side
// (/api/predict?model=NAME), and the chosen one is shown from the inside (/api/explain).
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

// ---- models side by side ------------------------------------------------------------------------
const cardsEl = document.getElementById("cards");
const cards = new Map();  // model name -> its card's elements
let othersSeq = 0;        // the newest request whose side-by-side answers are shown

function accuracyText(model) {
  return model.test_accuracy == null ? "test accuracy not recorded"
    : `${(model.test_accuracy * 100).toFixed(2)}% on the MNIST test set`;
}

function buildCards() {
  cardsEl.textContent = "";
  cards.clear();
  for (const model of models) {
    const li = document.createElement("li");
    li.className = "card";
    li.innerHTML = `<button type="button" class="card-pick" aria-pressed="false">
        <span class="card-name"></span><span class="card-meta"></span>
        <span class="card-answer"><span class="card-digit"></span><span class="card-sentence">–</span></span>
        <span class="card-bars" aria-hidden="true"></span></button>`;
    const el = {li, button: li.querySelector("button"), digit: li.querySelector(".card-digit"),
                sentence: li.querySelector(".card-sentence"), bars: li.querySelector(".card-bars")};
    li.querySelector(".card-name").textContent = model.name;
    li.querySelector(".card-meta").textContent = `${model.architecture} · ${accuracyText(model)}`;
    for (let d = 0; d < 10; d++) el.bars.appendChild(document.createElement("span"));
    el.button.addEventListener("click", () => choose(model.name));
    cardsEl.appendChild(li);
    cards.set(model.name, el);
  }
  document.getElementById("compare-hint").hidden = models.length > 1;
}

function showCard(name, response, answer) {
  const el = cards.get(name);
  if (!el) return;
  el.li.dataset.state = !response ? "empty" : response.ok ? "ok" : "error";
  const ok = response && response.ok;
  const digit = ok && answer.digit != null;  // an answer may be a sentence instead of a digit
  el.digit.textContent = digit ? String(answer.digit) : "";
  el.sentence.textContent = !response ? "–" : digit ? `${(answer.confidence * 100).toFixed(1)}% sure`
    : ok ? (answer.reason || "no digit") : response.status === 422 ? "no digit found"
    : (answer.detail || `error ${response.status}`);
  [...el.bars.children].forEach((bar, d) => {
    bar.style.height = ok ? `${Math.max(2, answer.probabilities[d] * 100)}%` : "0";
    bar.classList.toggle("winner", ok && d === answer.digit);
  });
}

function askOthers(body, seq, signal) {
  for (const model of models) {
    if (model.name === selected) continue;  // its answer comes with the main request
    post(apiPath("/api/predict", model.name), body, signal).then(([response, answer]) => {
      if (seq >= othersSeq) { othersSeq = seq; showCard(model.name, response, answer); }
    }).catch(() => {});  // aborted by a newer drawing, or the server is gone (the main answer says so)
  }
}

function showModelInfo() {
  const info = document.getElementById("model-info");
  const model = models.find((m) => m.name === selected);
  info.textContent = model ? `Model: ${model.name} (${model.architecture}) · ${accuracyText(model)}`
    : "Model information unavailable";
  document.getElementById("inside-model").textContent = model ? model.name : "the model";
  for (const [name, el] of cards) {
    el.li.classList.toggle("chosen", name === selected);
    el.button.setAttribute("aria-pressed", String(name === selected));
  }
}

function choose(name) {
  if (name === selected) return;
  selected = name;
  showModelInfo();
  if (last) request(last.body, last.origin);
}

async function loadModels() {
  try {
    const served = await (await fetch("/api/models")).json();
    models = served.models;
    selected = served.default;
  } catch {
    models = [];
  }
  buildCards();
  showModelInfo();
}

// ---- inside the chosen model --------------------------------------------------------------------
const inside = document.getElementById("inside");
const insideStatus = document.getElementById("inside-status");
const layersEl = document.getElementById("layers");
const saliencyCanvas = document.getElementById("saliency");
const saliencyToggle = document.getElementById("saliency-toggle");
const tutorialToggle = document.getElementById("tutorial-toggle");
let insideSeq = 0;
let explained = null;  // the last /api/explain answer shown

const CAPTIONS = {
  conv: "Each square is one filter's response to your drawing: bright where the pattern it looks for appears.",
  deeper: "A deeper stage: each filter looks for combinations of the patterns before it, over a larger part " +
          "of the digit, on smaller maps (pooling halves them).",
  deepest: "Deeper still: each value now depends on a large part of your drawing; the last layer reads these " +
           "to score the ten digits.",
  dense: "Each cell is one unit of a fully connected layer, bright when it fires. It sees all of the layer " +
         "before at once, with no notion of where in the image anything was.",
  output: "The output: the last layer's ten scores turned into probabilities that add up to 100%.",
};

function askInside(body, seq, signal) {
  const extra = tutorialToggle.checked ? {tutorial_preprocessing: "true"} : {};
  inside.dataset.state = inside.dataset.state === "empty" ? "empty" : "pending";
  post(apiPath("/api/explain", selected, extra), body, signal)
    .then(([response, answer]) => {
      if (seq < insideSeq) return;
      insideSeq = seq;
      if (response.ok) showInside(answer);
      else showInsideEmpty(response.status === 422 ? "No digit found: draw a digit."
                           : answer.detail || `error ${response.status}`);
    }).catch(() => {});
}

function showInsideEmpty(message) {
  inside.dataset.state = "empty";
  insideStatus.textContent = message;
  layersEl.textContent = "";
  explained = null;
  document.getElementById("tutorial-view").hidden = true;
  saliencyCanvas.getContext("2d").clearRect(0, 0, 28, 28);
}

function drawSaliency() {
  if (!explained) return;
  const answer = explained;
  const image = new Image();
  image.onload = () => {
    if (explained !== answer) return;  // a newer answer arrived meanwhile
    const c = saliencyCanvas.getContext("2d");
    c.drawImage(image, 0, 0, 28, 28);
    if (!saliencyToggle.checked) return;
    const pixels = c.getImageData(0, 0, 28, 28);
    const top = Math.max(...answer.saliency.flat());
    for (let i = 0; i < 28 * 28; i++) {
      const t = top > 0 ? answer.saliency[Math.floor(i / 28)][i % 28] / top : 0;  // 0..1
      const a = Math.min(1, 1.5 * Math.sqrt(t));  // opacity: weak evidence still shows
      const grey = pixels.data[4 * i] * 0.55;  // the digit dimmed, so the heat stands out
      // from yellow (some evidence) to red (the most), over the dimmed digit
      pixels.data[4 * i] = grey * (1 - a) + 255 * a;
      pixels.data[4 * i + 1] = grey * (1 - a) + 230 * (1 - t) * a;
      pixels.data[4 * i + 2] = grey * (1 - a);
    }
    c.putImageData(pixels, 0, 0);
  };
  image.src = answer.preprocessed;
}

function layerItem(layer, caption) {
  const li = document.createElement("li");
  li.className = `layer layer-${layer.kind}`;
  li.innerHTML = `<h3><span class="layer-name"></span> <span class="layer-shape"></span></h3>
    <p class="layer-what"></p><img alt=""><p class="caption"></p>`;
  li.querySelector(".layer-name").textContent = layer.name;
  li.querySelector(".layer-shape").textContent = layer.shape.join(" × ");
  li.querySelector(".layer-what").textContent = layer.description;
  li.querySelector(".caption").textContent = caption;
  const img = li.querySelector("img");
  img.alt = `${layer.name}: ${layer.shape.join(" by ")} activations, brightest where strongest`;
  img.src = layer.image;
  img.onload = () => {  // whole pixels per activation, at most 560 px wide
    const scale = Math.max(1, Math.min(8, Math.floor(560 / img.naturalWidth)));
    img.style.width = `${img.naturalWidth * scale}px`;
  };
  return li;
}

function outputItem(answer) {
  const li = document.createElement("li");
  li.className = "layer layer-output";
  li.innerHTML = `<h3><span class="layer-name">softmax</span> <span class="layer-shape">10</span></h3>
    <div class="softmax"></div><p class="caption"></p>`;
  const strip = li.querySelector(".softmax");
  answer.probabilities.forEach((p, d) => {
    const cell = document.createElement("span");
    cell.innerHTML = "<i></i>";
    cell.append(String(d));
    cell.style.setProperty("--p", p.toFixed(3));
    cell.classList.toggle("winner", d === answer.digit);
    cell.title = `${d}: ${(p * 100).toFixed(1)}%`;
    strip.appendChild(cell);
  });
  li.querySelector(".caption").textContent = CAPTIONS.output;
  return li;
}

function showInside(answer) {
  inside.dataset.state = "ok";
  explained = answer;
  insideStatus.textContent = answer.layers.length ? ""
    : "This model file holds no layer activations: export it again with `digitrec export` to see them.";
  drawSaliency();
  const naive = answer.tutorial_preprocessing;
  document.getElementById("tutorial-view").hidden = !naive;
  if (naive) {
    document.getElementById("tutorial-seen").src = naive.preprocessed;
    document.getElementById("tutorial-answer").textContent =
      `${naive.digit} (${(naive.confidence * 100).toFixed(0)}%)` + (naive.digit === answer.digit ? "" : ", not " +
      answer.digit);
  }
  layersEl.textContent = "";
  let convs = 0;
  for (const layer of answer.layers) {
    const caption = layer.kind === "dense" ? CAPTIONS.dense
      : [CAPTIONS.conv, CAPTIONS.deeper][convs++] || CAPTIONS.deepest;
    layersEl.appendChild(layerItem(layer, caption));
  }
  layersEl.appendChild(outputItem(answer));
}

saliencyToggle.addEventListener("change", drawSaliency);
tutorialToggle.addEventListener("change", () => { if (last) request(last.body, last.origin); });

setBrush(brush.value);
repaint();
showEmpty("Draw a digit");
showInsideEmpty("Draw a digit to see inside the model.");
loadModels();
