// digitrec page, part four: the models side by side (GET /api/models, then the same request with
// ?model=NAME for each, live as you draw: a digit or a number) and the view inside the chosen one
// (/api/explain, one digit only): the saliency over the 28x28 it saw, each layer's activations, the
// softmax, and what a tutorial's preprocessing would have handed it. Loaded last: app.js's request()
// calls askOthers() and askInside().
"use strict";

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

function cardText(response, answer) {
  // [what the card shows large, the sentence beside it]: a digit, a number, or why there is none
  if (!response) return ["", "–"];
  if (!response.ok) return ["", response.status === 422 ? "no digit found" : answer.detail || `error ${response.status}`];
  if ("number" in answer) {
    return answer.number == null ? ["", answer.reason] : [answer.number, `${percent(answer.confidence)} sure`];
  }
  return answer.digit == null ? ["", verdictSentence(answer)] : [String(answer.digit), `${percent(answer.confidence)} sure`];
}

function showCard(name, response, answer) {
  const el = cards.get(name);
  if (!el) return;
  const ok = response && response.ok;
  const refused = ok && (answer.digit === null || answer.number === null);
  el.li.dataset.state = !response ? "empty" : !ok ? "error" : refused ? "refused" : "ok";
  [el.digit.textContent, el.sentence.textContent] = cardText(response, answer);
  const probabilities = ok && answer.probabilities;  // a number has none
  [...el.bars.children].forEach((bar, d) => {
    bar.style.height = probabilities ? `${Math.max(2, probabilities[d] * 100)}%` : "0";
    bar.classList.toggle("winner", Boolean(probabilities) && d === answer.digit);
  });
}

function askOthers(body, seq, signal) {
  for (const model of models) {
    if (model.name === selected) continue;  // its answer comes with the main request
    post(apiPath(ENDPOINT[mode], model.name), body, signal).then(([response, answer]) => {
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
  if (last) request(last.body, last.origin, last.frame);
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
  if (mode === "number") {
    showInsideEmpty("The view inside a model looks at one digit: choose One digit above the pad to see it.");
    return;
  }
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

const SHORT_VERDICTS = {"not-a-digit": "not a digit", "several-digits": "several digits"};

function shortAnswer(answer) {  // "7 (92%)", or "not a digit" for an answer without one
  if (answer.digit == null) return SHORT_VERDICTS[answer.verdict] || "no digit";
  return `${answer.digit} (${(answer.confidence * 100).toFixed(0)}%)`;
}

function insideText(answer) {
  if (!answer.layers.length) {
    return "This model file holds no layer activations: export it again with `digitrec export` to see them.";
  }
  return answer.digit == null ? `${verdictSentence(answer)}: these views show the model's evidence for the ` +
    `closest digit, ${answer.closest_digit}.` : "";
}

function showInside(answer) {
  inside.dataset.state = "ok";
  explained = answer;
  insideStatus.textContent = insideText(answer);
  drawSaliency();
  const naive = answer.tutorial_preprocessing;
  document.getElementById("tutorial-view").hidden = !naive;
  if (naive) {
    document.getElementById("tutorial-seen").src = naive.preprocessed;
    document.getElementById("tutorial-answer").textContent = shortAnswer(naive) +
      (naive.digit === answer.digit ? "" : `; with digitrec's preprocessing: ${shortAnswer(answer)}`);
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
tutorialToggle.addEventListener("change", () => { if (last) request(last.body, last.origin, last.frame); });

showInsideEmpty("Draw a digit to see inside the model.");
loadModels();
