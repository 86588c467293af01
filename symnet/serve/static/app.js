// symnet serve: the page. Explore (the key, its given numbers editable in place) and Practise (the worksheet as a
// form, checked as it is typed), over the JSON API. Every text from the server or the user is put in as text
// (textContent, input values); the only HTML inserted is symnet's own document, whose user text the templates escape.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  // KaTeX may read \htmlData (the named cells) and nothing else that reaches outside the maths.
  const KATEX = {displayMode: true, throwOnError: false, strict: "ignore",
                 trust: (context) => context.command === "\\htmlData"};
  const DEBOUNCE = 250;  // ms after the last keystroke before asking the server

  const state = {
    request: null,     // what names the exercise: {spec: NAME} | {spec: STRUCTURE} | {spec_text, format}
    spec: null,        // its structure, as the server returned it (edited in place)
    toml: "",
    tab: "explore",
    key: null,         // the last key page (Explore)
    sheet: null,       // the last worksheet page (Practise) and the request it was made for
    sheetFor: null,
    values: {},        // Practise: ref → text typed
    verdicts: {},      // ref → {status, text}
    seq: {explore: 0, practise: 0, check: 0},
  };

  class ApiError extends Error {}

  async function api(path, body) {
    const init = body === undefined ? {} :
      {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)};
    let response;
    try {
      response = await fetch(path, init);
    } catch (e) {
      throw new ApiError("symnet: error: the server cannot be reached (is symnet serve still running?)");
    }
    let data = null;
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
    if (!response.ok) {
      throw new ApiError((data && data.error) || ("symnet: error: the server answered " + response.status));
    }
    return data;
  }

  function debounce(fn, ms) {
    let timer = null;
    return function (...args) {
      clearTimeout(timer);
      timer = setTimeout(() => fn(...args), ms);
    };
  }

  function say(el, text, kind) {
    el.textContent = text || "";
    el.className = el.className.replace(/\b(ok|bad|busy)\b/g, "").trim() + (kind ? " " + kind : "");
  }

  // The document: symnet's HTML fragment, each display then typeset by KaTeX from its own text.
  function show(container, html) {
    container.innerHTML = html;
    container.querySelectorAll(".symnet-math").forEach((el) => {
      katex.render(el.textContent, el, KATEX);
    });
    fit(container);
  }

  // A display wider than the sheet is scaled down to 80 % at most; beyond that it scrolls.
  function fit(container) {
    container.querySelectorAll(".symnet-math").forEach((el) => {
      el.style.fontSize = "";
      if (el.scrollWidth > el.clientWidth + 1) {
        el.style.fontSize = Math.max(0.8, el.clientWidth / el.scrollWidth) * 100 + "%";
      }
    });
  }

  function cells(container, prefix) {
    return Array.from(container.querySelectorAll("[data-symnet-ref]"))
      .filter((el) => el.dataset.symnetRef.startsWith(prefix));
  }

  // ------------------------------------------------------------ the exercise

  function currentRequest() {
    return state.spec ? {spec: state.spec} : state.request;
  }

  async function choose(request) {
    state.request = request;
    state.spec = null;
    state.sheet = null;
    state.values = {};
    state.verdicts = {};
    hideEditor();
    await refresh();
  }

  async function refresh() {
    if (state.tab === "explore") {
      await explore();
    } else {
      await practise();
    }
  }

  // ------------------------------------------------------------ Explore

  async function explore(edit) {
    const seq = ++state.seq.explore;
    const started = performance.now();
    say($("explore-status"), "Working it out…", "busy");
    let data;
    try {
      data = await api("/api/page", Object.assign({view: "key"}, edit ? {spec: edit.spec} : currentRequest()));
    } catch (e) {
      if (seq !== state.seq.explore) return;
      if (edit) {
        say($("editor-message"), e.message, "bad");
        $("editor-input").setAttribute("aria-invalid", "true");
        say($("explore-status"), "Not solved: the change is refused (see the message by the field). The solution " +
            "shown is the last one that worked.", "bad");
      } else {
        say($("explore-status"), e.message, "bad");
        say($("spec-message"), e.message, "bad");
      }
      return;
    }
    if (seq !== state.seq.explore) return;
    state.spec = data.spec;
    state.toml = data.toml;
    state.key = data;
    if (document.activeElement !== $("spec-text")) $("spec-text").value = data.toml;
    say($("spec-message"), "");
    show($("explore-doc"), data.html);
    const givens = new Map(data.givens.map((g) => [g.ref, g]));
    cells($("explore-doc"), "g").forEach((el) => {
      const g = givens.get(el.dataset.symnetRef);
      if (!g) return;
      el.classList.add("given");
      el.tabIndex = 0;
      el.setAttribute("role", "button");
      el.setAttribute("aria-label", "change " + g.name + " row " + g.row + " column " + g.col + ", now " + g.text);
      el.title = "Change " + g.name + " (" + g.row + ", " + g.col + ")";
      el.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter" || ev.key === " ") {
          ev.preventDefault();
          openEditor(g);
        }
      });
    });
    const ms = Math.round(performance.now() - started);
    say($("explore-status"), (edit ? "Worked out again" : "Worked out") + " in " + ms + " ms.", "ok");
    state.givens = givens;
    if (edit) {
      $("editor-input").removeAttribute("aria-invalid");
      say($("editor-message"), "");
      const again = data.givens.find((g) => g.name === edit.given.name && g.row === edit.given.row &&
                                             g.col === edit.given.col);
      if (again) {
        state.editing = again;
        placeEditor(again);
      }
    }
  }

  // A click on a given number: KaTeX stacks its matrices' columns in boxes that overlap their neighbours, so the
  // number is found under the pointer, not from the click's target.
  function givenAt(ev) {
    for (const el of document.elementsFromPoint(ev.clientX, ev.clientY)) {
      const found = el.closest && el.closest("#explore-doc .given");
      if (found) return state.givens && state.givens.get(found.dataset.symnetRef);
    }
    return null;
  }

  function setAt(spec, path, value) {
    let at = spec;
    for (let i = 0; i < path.length - 1; i++) at = at[path[i]];
    at[path[path.length - 1]] = value;
  }

  function openEditor(given) {
    state.editing = given;
    const input = $("editor-input");
    input.value = given.text;
    input.removeAttribute("aria-invalid");
    say($("editor-message"), "");
    $("editor").hidden = false;
    placeEditor(given);
    input.focus();
    input.select();
  }

  function placeEditor(given) {
    const el = $("explore-doc").querySelector('[data-symnet-ref="' + given.ref + '"]');
    if (!el) return;
    const r = el.getBoundingClientRect();
    const box = $("editor");
    box.style.left = Math.max(4, r.left + window.scrollX - 6) + "px";
    box.style.top = (r.top + window.scrollY - 6) + "px";
    box.style.width = Math.min(Math.max(r.width + 60, 96), 220) + "px";
  }

  function hideEditor() {
    $("editor").hidden = true;
    state.editing = null;
  }

  const edited = debounce(() => {
    const given = state.editing;
    if (!given || !state.spec) return;
    const spec = JSON.parse(JSON.stringify(state.spec));
    setAt(spec, given.path, $("editor-input").value);
    state.sheet = null;  // the worksheet is made again for the changed exercise
    state.values = {};
    state.verdicts = {};
    explore({spec: spec, given: given});
  }, DEBOUNCE);

  // ------------------------------------------------------------ Practise

  async function practise() {
    const request = currentRequest();
    const key = JSON.stringify(request);
    if (state.sheet && state.sheetFor === key) return;
    const seq = ++state.seq.practise;
    say($("practise-status"), "Making the worksheet…", "busy");
    let data;
    try {
      data = await api("/api/page", Object.assign({view: "worksheet"}, request));
    } catch (e) {
      if (seq === state.seq.practise) say($("practise-status"), e.message, "bad");
      return;
    }
    if (seq !== state.seq.practise) return;
    state.spec = data.spec;
    state.toml = data.toml;
    state.sheet = data;
    state.sheetFor = JSON.stringify(currentRequest());
    state.boxes = new Map(data.boxes.map((b) => [b.ref, b]));
    show($("practise-doc"), data.html);
    cells($("practise-doc"), "b").forEach((el) => {
      const b = state.boxes.get(el.dataset.symnetRef);
      if (!b) return;
      const frame = el.querySelector(".fbox") || el;
      frame.classList.add("box");
      const input = document.createElement("input");
      input.className = "answer";
      input.dataset.ref = b.ref;
      input.autocomplete = "off";
      input.spellcheck = false;
      input.setAttribute("aria-label", b.name + " row " + b.row + " column " + b.col);
      input.value = state.values[b.ref] || "";
      input.addEventListener("input", () => typed(input));
      input.addEventListener("focus", () => bubble(input));
      input.addEventListener("blur", () => { $("bubble").hidden = true; });
      input.addEventListener("mouseenter", () => bubble(input));
      input.addEventListener("mouseleave", () => { if (document.activeElement !== input) $("bubble").hidden = true; });
      frame.appendChild(input);
      widen(input);
    });
    mark();
    say($("practise-status"), "Fill in the boxes; the same entry in two places is one answer.", "");
    if (Object.keys(state.values).length) checkNow();
  }

  function inputs(ref) {
    return Array.from($("practise-doc").querySelectorAll('input.answer[data-ref="' + ref + '"]'));
  }

  function widen(input) {
    const n = input.value.length;
    input.style.width = n > 3 ? "calc(" + (n + 1) + "ch + 6px)" : "";
    input.classList.toggle("long", n > 3);
  }

  function typed(input) {
    const ref = input.dataset.ref;
    const text = input.value;
    if (text.trim()) state.values[ref] = text; else delete state.values[ref];
    inputs(ref).forEach((other) => {
      if (other !== input) other.value = text;
      widen(other);
    });
    delete state.verdicts[ref];
    markOne(ref);
    checkSoon();
  }

  // The answers as the checker reads them: per quantity its rows, null where nothing is written yet.
  function answers() {
    const shapes = state.sheet.shapes;
    const out = {};
    for (const [ref, text] of Object.entries(state.values)) {
      const b = state.boxes.get(ref);
      if (!b) continue;
      const shape = shapes[b.name];
      if (!out[b.name]) {
        out[b.name] = shape.length === 0 ? null :
          Array.from({length: shape[0]}, () => Array.from({length: shape[1]}, () => null));
      }
      if (shape.length === 0) out[b.name] = text.trim();
      else out[b.name][b.row - 1][b.col - 1] = text.trim();
    }
    return out;
  }

  const checkSoon = debounce(() => checkNow(), DEBOUNCE);

  async function checkNow() {
    if (!state.sheet) return;
    const given = answers();
    const seq = ++state.seq.check;
    if (!Object.keys(given).length) {
      state.verdicts = {};
      mark();
      notes(null);
      say($("practise-status"), "Fill in the boxes; the same entry in two places is one answer.", "");
      return;
    }
    const student = $("student").value.trim();
    if (student) given.student = student;
    let data;
    try {
      data = await api("/api/check", {spec: state.spec, answers: given});
    } catch (e) {
      if (seq === state.seq.check) say($("practise-status"), e.message, "bad");
      return;
    }
    if (seq !== state.seq.check) return;
    verdicts(data);
    mark();
    notes(data);
    summary(data);
  }

  const LABELS = {
    rounded: "right, rounded", carried_error: "carried error", rounding_error: "rounding error",
    sign_flipped: "sign flipped", undecided: "not decided",
  };

  function label(code) {
    return LABELS[code] || code.replace(/_/g, " ");
  }

  // Each box's verdict: right, rounded, wrong (with its diagnosis and sentence), carried, undecided.
  function verdicts(data) {
    state.verdicts = {};
    const byEntry = new Map();
    const put = (name, e, whole) => byEntry.set(name + "|" + e.row + "|" + e.col, Object.assign({whole}, e));
    for (const [name, q] of Object.entries(data.quantities || {})) {
      (q.entries || []).forEach((e) => put(name, e, q));
      if (!q.entries.length && !q.correct) byEntry.set(name + "|shape", q);
    }
    for (const [name, q] of Object.entries(data.partial || {})) q.entries.forEach((e) => put(name, e, null));
    for (const [ref, b] of state.boxes) {
      if (!(ref in state.values)) continue;
      const whole = (data.quantities || {})[b.name];
      const e = byEntry.get(b.name + "|" + b.row + "|" + b.col);
      let v;
      if (e) {
        v = entryVerdict(b, e);
      } else if (whole) {
        v = whole.correct || whole.entries.length ? {status: "right", text: "Right."} :
          {status: "wrong", text: whole.feedback || "Wrong shape."};
      } else {
        continue;  // (not judged yet)
      }
      state.verdicts[ref] = v;
    }
  }

  function entryVerdict(b, e) {
    if (e.correct) {
      if (e.diagnosis === "rounded") return {status: "rounded", text: "Right: the exact value rounds to what you wrote."};
      return {status: "right", text: "Right."};
    }
    if (e.diagnosis === "carried_error") {
      return {status: "carried", text: "Carried error from " + e.carried_from + ". " + (e.feedback || "")};
    }
    if (e.diagnosis === "undecided") return {status: "undecided", text: e.feedback || "Not decided."};
    let text = e.diagnosis ? label(e.diagnosis) + ". " + (e.feedback || "") : "Wrong.";
    if (e.rounds_to) text += " (The exact value " + e.rounds_to + ".)";
    if (!e.diagnosis && e.whole === null) text += " Fill in the rest of " + b.name + " to see which mistake it is.";
    else if (!e.diagnosis) text += " No known mistake explains it: recompute.";
    return {status: "wrong", text: text};
  }

  const STATUSES = ["right", "rounded", "wrong", "carried", "undecided"];

  function markOne(ref) {
    const v = state.verdicts[ref];
    inputs(ref).forEach((input) => {
      STATUSES.forEach((s) => input.classList.remove(s));
      if (v) input.classList.add(v.status);
      input.title = v ? v.text : "";
      input.setAttribute("aria-invalid", v && v.status !== "right" && v.status !== "rounded" ? "true" : "false");
      if (input === document.activeElement) bubble(input);
    });
  }

  function mark() {
    for (const ref of state.boxes.keys()) markOne(ref);
  }

  function bubble(input) {
    const v = state.verdicts[input.dataset.ref];
    const b = state.boxes.get(input.dataset.ref);
    const box = $("bubble");
    if (!v || !b) {
      box.hidden = true;
      return;
    }
    box.textContent = "";
    const head = document.createElement("strong");
    head.textContent = b.name + " (" + b.row + ", " + b.col + "): ";
    box.appendChild(head);
    box.appendChild(document.createTextNode(v.text));
    box.className = "bubble " + v.status;
    const r = input.getBoundingClientRect();
    box.style.left = (r.right + window.scrollX + 10) + "px";  // beside the box: the column below stays in sight
    box.style.top = (r.top + window.scrollY - 4) + "px";
    box.hidden = false;
  }

  function notes(data) {
    const aside = $("notes");
    aside.textContent = "";
    const h = document.createElement("h2");
    h.textContent = "What the checker says";
    aside.appendChild(h);
    if (!data) {
      const p = document.createElement("p");
      p.textContent = "Nothing written yet.";
      aside.appendChild(p);
      return;
    }
    const list = document.createElement("ul");
    const item = (cls, title, text) => {
      const li = document.createElement("li");
      li.className = cls;
      const t = document.createElement("strong");
      t.textContent = title;
      li.appendChild(t);
      if (text) li.appendChild(document.createTextNode(" " + text));
      list.appendChild(li);
    };
    for (const [name, q] of Object.entries(data.quantities || {})) {
      if (q.correct) {
        item("right", name, q.diagnosis === "rounded" ? "right (rounded)" : "right");
        continue;
      }
      const why = q.diagnosis ? label(q.diagnosis) + (q.carried_from ? " from " + q.carried_from : "") + ": " +
        (q.feedback || "") : (q.right + " of " + q.total + " entries right.");
      item(q.diagnosis === "carried_error" ? "carried" : "wrong", name, why);
      const seen = new Set();
      q.entries.forEach((e) => {
        if (e.correct || !e.feedback || e.diagnosis === q.diagnosis || seen.has(e.diagnosis)) return;
        seen.add(e.diagnosis);
        item("detail", "", label(e.diagnosis) + ": " + e.feedback);
      });
    }
    for (const [name, q] of Object.entries(data.partial || {})) {
      const carried = q.entries.filter((e) => e.diagnosis === "carried_error").length;
      const bad = q.entries.filter((e) => !e.correct).length - carried;
      const parts = [bad ? bad + " wrong" : "", carried ? carried + " carried from an earlier answer" : ""]
        .filter(Boolean);
      item(bad ? "wrong" : carried ? "carried" : "pending", name, q.written + " of " + q.total + " entries written" +
           (parts.length ? ": " + parts.join(", ") : ", so far right") + ".");
    }
    aside.appendChild(list);
  }

  function summary(data) {
    const s = data.score;
    if (!s) {
      say($("practise-status"), "Checked as you type: finish a quantity to see its score.", "");
      return;
    }
    const text = "Score " + s.points + " of " + s.maximum + (s.percent === null ? "" : " (" + s.percent + " %)") +
      (data.missing && data.missing.length ? "; not answered yet: " + data.missing.length + " quantities" : "") + ".";
    say($("practise-status"), text, data.correct ? "ok" : "");
  }

  // ------------------------------------------------------------ downloads

  function download(name, text) {
    const url = URL.createObjectURL(new Blob([text], {type: "application/toml"}));
    const a = document.createElement("a");
    a.href = url;
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  async function downloadAnswers() {
    if (!state.sheet) return;
    const given = answers();
    const student = $("student").value.trim();
    if (student) given.student = student;
    try {
      const data = await api("/api/answers", {answers: given});
      download("answers.toml", data.toml);
    } catch (e) {
      say($("practise-status"), e.message, "bad");
    }
  }

  // ------------------------------------------------------------ tabs and controls

  function tab(name) {
    state.tab = name;
    ["explore", "practise"].forEach((t) => {
      $(t).hidden = t !== name;
      $("tab-" + t).setAttribute("aria-selected", String(t === name));
    });
    hideEditor();
    refresh();
  }

  async function start() {
    $("tab-explore").addEventListener("click", () => tab("explore"));
    $("tab-practise").addEventListener("click", () => tab("practise"));
    $("example").addEventListener("change", () => choose({spec: $("example").value}));
    $("new").addEventListener("click", async () => {
      const seed = Math.floor(Math.random() * 2147483647);
      say($("explore-status"), "Making a new exercise…", "busy");
      say($("practise-status"), "Making a new exercise…", "busy");
      try {
        const made = await api("/api/generate", {kind: $("kind").value, seed: seed});
        $("example").value = "";
        await choose({spec: made.spec});
      } catch (e) {
        say($("explore-status"), e.message, "bad");
        say($("practise-status"), e.message, "bad");
      }
    });
    $("own-toggle").addEventListener("click", () => {
      const own = $("own");
      own.hidden = !own.hidden;
      $("own-toggle").setAttribute("aria-expanded", String(!own.hidden));
    });
    $("spec-use").addEventListener("click", () => {
      const text = $("spec-text").value;
      const format = /^\s*\{/.test(text) ? "json" : "toml";
      $("example").value = "";
      choose({spec_text: text, format: format});
    });
    $("spec-file").addEventListener("change", () => {
      const file = $("spec-file").files[0];
      if (!file) return;
      if (file.size > 1000000) {
        say($("spec-message"), "symnet: error: " + file.name + ": file larger than 1000000 bytes (bound: file_bytes)",
            "bad");
        return;
      }
      const reader = new FileReader();
      reader.onload = () => {
        $("spec-text").value = reader.result;
        $("example").value = "";
        choose({spec_text: reader.result, format: /\.json$/i.test(file.name) ? "json" : "toml"});
      };
      reader.readAsText(file);
    });
    $("explore-doc").addEventListener("click", (ev) => {
      const g = givenAt(ev);
      if (g) openEditor(g);
    });
    $("editor-input").addEventListener("input", edited);
    $("editor-input").addEventListener("keydown", (ev) => {
      if (ev.key === "Escape" || ev.key === "Enter") hideEditor();
    });
    document.addEventListener("mousedown", (ev) => {
      if (!$("editor").hidden && !$("editor").contains(ev.target) && !givenAt(ev)) hideEditor();
    });
    $("student").addEventListener("input", debounce(() => checkNow(), DEBOUNCE));
    $("download-answers").addEventListener("click", downloadAnswers);
    $("download-spec").addEventListener("click", () => download("exercise.toml", state.toml));
    $("clear").addEventListener("click", () => {
      state.values = {};
      state.verdicts = {};
      $("practise-doc").querySelectorAll("input.answer").forEach((i) => { i.value = ""; widen(i); });
      checkNow();
    });
    window.addEventListener("resize", () => {
      fit($("explore-doc"));
      fit($("practise-doc"));
      if (state.editing) placeEditor(state.editing);
    });

    let found;
    try {
      found = await api("/api/examples");
    } catch (e) {
      say($("explore-status"), e.message, "bad");
      return;
    }
    const blank = document.createElement("option");
    blank.value = "";
    blank.textContent = "(your own)";
    $("example").appendChild(blank);
    found.examples.forEach((ex) => {
      const o = document.createElement("option");
      o.value = ex.name;
      o.textContent = ex.title || ex.name;
      o.title = ex.description;
      $("example").appendChild(o);
    });
    found.kinds.forEach((k) => {
      const o = document.createElement("option");
      o.value = k;
      o.textContent = k;
      $("kind").appendChild(o);
    });
    $("kind").value = "backprop";
    const first = await api("/api/initial");
    if (first.spec_text !== undefined) {
      $("spec-text").value = first.spec_text;
      $("example").value = "";
      await choose({spec_text: first.spec_text, format: first.format});
    } else {
      const name = first.spec || "backprop";
      $("example").value = name;
      await choose({spec: name});
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
