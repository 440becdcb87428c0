// digitrec page, part three: the number mode. A two-option toggle turns the square pad into a wide one
// whose drawing app.js sends to /api/read, and the answer is shown here: the number and its confidence,
// a box over the pad at each digit with its answer, and the 28x28 each digit became. An answer without a
// number (part of the ink is not a digit) says why in place of the number and marks those parts with "?".
"use strict";

const modeInputs = [...document.querySelectorAll("input[name=mode]")];
const readingEl = document.getElementById("reading");
const boxesEl = document.getElementById("boxes");

const LABEL_ROOM = 0.12;  // a box starting this close to the pad's top (a fraction of its height) has its label inside
const MODE_TEXT = {
  digit: {sub: "draw a digit", answer: "predicted digit",
          pad: "Drawing pad: draw one digit with mouse, finger or pen, or drop an image here"},
  number: {sub: "write a number", answer: "number read",
           pad: "Drawing pad: write a number, its digits side by side, with mouse, finger or pen, or drop an image here"},
};

function setMode(next) {
  if (next === mode) return;
  shapePad(next);
  document.body.dataset.mode = next;
  for (const input of modeInputs) input.checked = input.value === next;
  document.getElementById("subtitle").textContent = MODE_TEXT[next].sub;
  canvas.setAttribute("aria-label", MODE_TEXT[next].pad);
  digitEl.setAttribute("aria-label", MODE_TEXT[next].answer);
  clearReading();
  predictNow();
}

function clearReading() {
  readingEl.textContent = "";
  boxesEl.textContent = "";
}

function digitItem(read, index) {
  const li = document.createElement("li");
  const isDigit = read.digit != null;
  li.className = !isDigit ? "read-digit not-digit" : read.confidence < UNSURE_BELOW ? "read-digit unsure" : "read-digit";
  li.innerHTML = '<img width="56" height="56" alt=""><span class="read-answer"></span><span class="read-sure"></span>';
  const img = li.querySelector("img");
  img.src = read.preprocessed;
  img.alt = `part ${index + 1} as the model saw it, 28 by 28`;
  li.querySelector(".read-answer").textContent = isDigit ? String(read.digit) : "?";
  li.querySelector(".read-sure").textContent = isDigit ? `${percent(read.confidence)} sure` : "not a digit";
  return li;
}

function boxItem(read, frame) {
  // The box is in the sent image's pixels; frame maps them to the pad's, and the pad's to percents.
  const [x0, y0, x1, y1] = read.box;
  const along = (value, size) => `${(100 * value / size).toFixed(2)}%`;
  const box = document.createElement("span");
  box.className = read.digit == null ? "box not-digit" : "box";
  box.style.left = along(frame.dx + frame.scale * x0, canvas.width);
  box.style.top = along(frame.dy + frame.scale * y0, canvas.height);
  box.style.width = along(frame.scale * (x1 - x0), canvas.width);
  box.style.height = along(frame.scale * (y1 - y0), canvas.height);
  box.classList.toggle("label-inside", frame.dy + frame.scale * y0 < LABEL_ROOM * canvas.height);
  const label = document.createElement("span");
  label.className = "box-label";
  label.textContent = read.digit == null ? "?" : `${read.digit} ${Math.round(read.confidence * 100)}%`;
  box.appendChild(label);
  return box;
}

function showReading(answer, origin, frame) {
  const count = answer.digits.length;
  const from = origin ? ` ${origin}` : "";
  if (answer.number == null) {
    showAnswer("refused", "", answer.reason, `The parts marked ? are not digits${from}.`);
  } else {
    const unsure = answer.confidence < UNSURE_BELOW;
    showAnswer(unsure ? "unsure" : "ok", answer.number, `${percent(answer.confidence)} sure${from}`,
               unsure ? "Not sure: check the digits marked below and write those more clearly."
                      : `${count} digit${count === 1 ? "" : "s"}, read left to right`);
  }
  resetBars();
  showSeen(null);
  clearReading();
  answer.digits.forEach((read, i) => readingEl.appendChild(digitItem(read, i)));
  if (frame) for (const read of answer.digits) boxesEl.appendChild(boxItem(read, frame));
}

for (const input of modeInputs) input.addEventListener("change", () => { if (input.checked) setMode(input.value); });
toNumber.addEventListener("click", () => {
  setMode("number");
  modeInputs.find((input) => input.value === "number").focus();  // the button it was is gone now
});
// A browser that restores form fields on reload may have kept "A number" chosen: follow it.
const restored = modeInputs.find((input) => input.checked);
if (restored && restored.value !== mode) setMode(restored.value);
