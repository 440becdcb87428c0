// digitrec page, part two: what the pad holds goes to the server (the canvas as a PNG data URL, or the
// uploaded file as it is) and the answer is shown: one digit (/api/predict) here, a number (/api/read)
// by number.js. No preprocessing happens here: the server does it, one code path. With several models
// served, each one answers the same drawing side by side, and the chosen one is shown from the inside:
// insight.js, loaded last.
"use strict";

const UNSURE_BELOW = 0.6;      // confidence under which the answer is shown as "not sure"
const LIVE_DEBOUNCE_MS = 150;  // pause in drawing before a live prediction is requested
const ENDPOINT = {digit: "/api/predict", number: "/api/read"};
// A number is sent at half size, 504x168: the server analyses an image over 512 px on its longest side
// as a photo, which a drawing does not need and which takes several times as long.
const SEND_SCALE = {digit: 1, number: 0.5};
const EMPTY = {digit: "Draw a digit", number: "Write a number"};
// Answers without a digit, in the page's words (the API's `reason` speaks of the CLI).
const VERDICTS = {"not-a-digit": "That doesn't look like a digit", "several-digits": "That looks like several digits"};

const result = document.getElementById("result");
const digitEl = document.getElementById("digit");
const confidenceEl = document.getElementById("confidence");
const statusEl = document.getElementById("status");
const toNumber = document.getElementById("to-number");
const barsEl = document.getElementById("bars");
const seenImg = document.getElementById("seen");
const seenEmpty = document.getElementById("seen-empty");

let liveTimer = 0;
let requestSeq = 0;   // answers to older requests than the last shown one are dropped
let shownSeq = 0;
let inFlight = null;  // AbortController of the requests under way
let models = [];      // the served models (GET /api/models), the default first
let selected = null;  // the name of the model whose answer and insides are shown
let last = null;      // {body, origin, frame} of the last drawing or upload sent, to send again on a change

// ---- bars -------------------------------------------------------------------------------------
const bars = [];
for (let d = 0; d < 10; d++) {
  const li = document.createElement("li");
  li.innerHTML = `<span class="label">${d}</span><span class="track"><span class="fill"></span></span>` +
                 `<span class="pct">–</span>`;
  barsEl.appendChild(li);
  bars.push({li, fill: li.querySelector(".fill"), pct: li.querySelector(".pct")});
}

// ---- predictions ---------------------------------------------------------------------------------
function scheduleLive() {
  clearTimeout(liveTimer);
  liveTimer = setTimeout(predictNow, LIVE_DEBOUNCE_MS);
}

function predictNow() {
  clearTimeout(liveTimer);
  if (strokes.length) request(JSON.stringify({image: padImage()}), "", {scale: 1 / SEND_SCALE[mode], dx: 0, dy: 0});
  else if (upload) request(fileBody(upload.file), `from ${upload.name}`, upload.fit);
  else showNothing();
}

function padImage() {
  const scale = SEND_SCALE[mode];
  if (scale === 1) return canvas.toDataURL("image/png");
  const small = document.createElement("canvas");
  small.width = Math.round(canvas.width * scale);
  small.height = Math.round(canvas.height * scale);
  const c = small.getContext("2d");
  c.imageSmoothingQuality = "high";
  c.drawImage(canvas, 0, 0, small.width, small.height);
  return small.toDataURL("image/png");
}

function fileBody(file) {
  const body = new FormData();
  body.append("file", file, file.name);
  return body;
}

function showNothing() {  // an empty pad has no digit: say so, ask nothing
  if (inFlight) inFlight.abort();
  requestSeq++;
  shownSeq = requestSeq;
  last = null;
  showEmpty(EMPTY[mode]);
  for (const model of models) showCard(model.name, null, null);
  showInsideEmpty(`${EMPTY[mode]} to see inside the model.`);
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

async function request(body, origin, frame) {
  // frame maps the answer's pixels (boxes) to the pad's: {scale, dx, dy}, or null when it cannot
  if (inFlight) inFlight.abort();
  const controller = new AbortController();
  inFlight = controller;
  const seq = ++requestSeq;
  last = {body, origin, frame};
  result.dataset.state = result.dataset.state === "empty" ? "empty" : "pending";
  askOthers(body, seq, controller.signal);
  askInside(body, seq, controller.signal);
  let response, answer;
  try {
    [response, answer] = await post(apiPath(ENDPOINT[mode], selected), body, controller.signal);
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
  if (!response.ok) showFailure(response, answer);
  else if (mode === "number") showReading(answer, origin, frame);
  else showPrediction(answer, origin);
}

function showFailure(response, answer) {
  if (response.status === 422) showEmpty(`No digit found: ${EMPTY[mode].toLowerCase()}`, answer.detail);
  else showError(answer.detail || `error ${response.status}`);
}

function percent(p) {
  return `${(p * 100).toFixed(1)}%`;
}

function verdictSentence(answer) {
  return VERDICTS[answer.verdict] || answer.reason || "That is not one digit";
}

function showAnswer(state, big, headline, status) {
  result.dataset.state = state;
  digitEl.textContent = big;
  confidenceEl.textContent = headline;
  statusEl.textContent = status;
  statusEl.title = "";
  toNumber.hidden = true;
}

function showBars(probabilities, winner) {
  probabilities.forEach((p, d) => {
    const b = bars[d];
    b.li.classList.toggle("winner", d === winner);
    b.fill.style.width = percent(p);
    b.pct.textContent = `${Math.round(p * 100)}%`;
    b.li.setAttribute("aria-label", `${d}: ${percent(p).replace("%", " percent")}`);
  });
}

function resetBars() {
  for (const b of bars) {
    b.li.classList.remove("winner");
    b.li.removeAttribute("aria-label");
    b.fill.style.width = "0";
    b.pct.textContent = "–";
  }
}

function showSeen(dataUrl) {
  seenImg.hidden = !dataUrl;
  seenEmpty.hidden = Boolean(dataUrl);
  if (dataUrl) seenImg.src = dataUrl;
}

function showEmpty(message, detail) {
  showAnswer("empty", "", "", message);
  statusEl.title = detail || "";
  resetBars();
  showSeen(null);
  clearReading();
}

function showError(message) {
  showEmpty(message);
  result.dataset.state = "error";
}

function showPrediction(answer, origin) {
  if (answer.digit == null) {
    showRefusal(answer, origin);
    return;
  }
  const unsure = answer.confidence < UNSURE_BELOW;
  const second = answer.probabilities
    .map((p, d) => [p, d]).filter(([, d]) => d !== answer.digit).sort((a, b) => b[0] - a[0])[0][1];
  showAnswer(unsure ? "unsure" : "ok", String(answer.digit),
             `${percent(answer.confidence)} sure${origin ? " " + origin : ""}`,
             unsure ? `Not sure: it could also be a ${second}. Try drawing it bigger or more clearly.` : "Recognised");
  showBars(answer.probabilities, answer.digit);
  showSeen(answer.preprocessed);
}

function showRefusal(answer, origin) {
  // No digit: the page says so in place of one; the bars, dimmed, still show what the model leaned to.
  const several = answer.verdict === "several-digits";
  const closest = `The closest digit is ${answer.closest_digit}, at ${percent(answer.closest_probability)}`;
  showAnswer("refused", "", verdictSentence(answer),
             several ? "Read it as a number instead:" : `${closest}${origin ? " " + origin : ""}.`);
  toNumber.hidden = !several;
  showBars(answer.probabilities, null);
  showSeen(answer.preprocessed);
}
