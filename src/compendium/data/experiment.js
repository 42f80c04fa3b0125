/* The behavioural experiment of Gale et al. (2020), Section 3.2, in the browser (jsPsych).
 *
 * Part of the compendium (compendium.build.experiment_site copies it beside the panels).
 * It needs, loaded before it: jsPsych (jspsych.js) with the plugins html-button-response,
 * image-button-response and survey-text, and lists.js, which sets
 * window.COMPENDIUM_EXPERIMENT = {lists: {"0": [{layer, unit, image}, ...], ...}, ...}.
 * It runs in the element with id "compendium-experiment" and loads nothing else, so it
 * works from file:// and from any static host, offline.
 *
 * Procedure: instructions, a participant code, the panels of one list (?list=N in the
 * address, or chosen from a menu) in an order of the participant's own (seeded by the code
 * and the list), for each panel "Do these images have something in common?" yes/no and,
 * after yes, a free-text label; at the end the responses download as a CSV with the
 * columns participant,list,layer,unit,yes,label (compendium.methods.behaviour.read_responses)
 * and are shown on the page.
 */
(function () {
  "use strict";

  var COLUMNS = ["participant", "list", "layer", "unit", "yes", "label"];
  /* The panels' paths in lists.js are relative to the folder of this script. */
  var HERE = document.currentScript ? document.currentScript.src : window.location.href;
  var QUESTION = "Do these images have something in common?";

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (key) {
      node.setAttribute(key, attributes[key]);
    });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /* A string's 32-bit FNV-1a hash, to seed the order of the panels. */
  function hash(text) {
    var h = 0x811c9dc5;
    for (var i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    return h;
  }

  /* mulberry32: a small seeded generator of numbers in [0, 1). */
  function seeded(seed) {
    var state = seed >>> 0;
    return function () {
      state = (state + 0x6d2b79f5) >>> 0;
      var t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  /* Fisher-Yates shuffle of a copy of `items`, driven by `random`. */
  function shuffled(items, random) {
    var out = items.slice();
    for (var i = out.length - 1; i > 0; i--) {
      var j = Math.floor(random() * (i + 1));
      var swap = out[i];
      out[i] = out[j];
      out[j] = swap;
    }
    return out;
  }

  /* One CSV field: quoted when it holds a comma, a quote or a line break. */
  function csvField(value) {
    var text = String(value).replace(/[\r\n]+/g, " ");
    return /[",]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  function toCsv(rows) {
    var lines = [COLUMNS.join(",")];
    rows.forEach(function (row) {
      lines.push(COLUMNS.map(function (c) { return csvField(row[c]); }).join(","));
    });
    return lines.join("\n") + "\n";
  }

  function fileName(participant, list) {
    var safe = participant.replace(/[^A-Za-z0-9_-]+/g, "_") || "participant";
    return "responses-" + safe + "-list" + list + ".csv";
  }

  function download(text, name) {
    var blob = new Blob([text], { type: "text/csv" });
    var link = element("a", { href: URL.createObjectURL(blob), download: name });
    link.style.display = "none";
    document.body.appendChild(link);
    link.click();
    setTimeout(function () {
      URL.revokeObjectURL(link.href);
      link.remove();
    }, 1000);
  }

  function requestedList(config) {
    var value = new URLSearchParams(window.location.search).get("list");
    return value !== null && Object.prototype.hasOwnProperty.call(config.lists, value)
      ? value
      : null;
  }

  /* The menu of lists, shown when the address names no list (or one that does not exist). */
  function showMenu(root, config, start) {
    root.innerHTML = "";
    var names = Object.keys(config.lists).sort(function (a, b) { return a - b; });
    root.appendChild(element("p", {}, "Which list were you given? (Your teacher or the " +
      "experimenter tells you; the address may also name it, e.g. ?list=" + names[0] + ".)"));
    var menu = element("div", { class: "compendium-experiment-menu" });
    names.forEach(function (name) {
      var button = element("button", { type: "button", class: "jspsych-btn", "data-list": name },
        "List " + name + " (" + config.lists[name].length + " panels)");
      button.addEventListener("click", function () { start(name); });
      menu.appendChild(button);
    });
    root.appendChild(menu);
  }

  function instructions(config, list) {
    var n = config.lists[list].length;
    return "<div style='max-width:40em;text-align:left'>" +
      "<p>You will see " + n + " panels, one after another. Each panel is a grid of " +
      "small pictures made by a computer program.</p>" +
      "<p>For each panel, decide: <b>" + QUESTION + "</b> Answer <b>Yes</b> if most of " +
      "the pictures show the same kind of thing, and then name it in a word or a few " +
      "(for example <i>shoe</i> or <i>striped shirt</i>). Otherwise answer <b>No</b>.</p>" +
      "<p>There are no right or wrong answers, and no time limit; go with your first " +
      "impression. At the end your answers are saved as a file on this computer (nothing " +
      "is sent anywhere); hand that file to the experimenter.</p></div>";
  }

  function finish(root, rows, participant, list) {
    var text = toCsv(rows);
    var name = fileName(participant, list);
    root.innerHTML = "";
    root.appendChild(element("p", {}, "Thank you! Your " + rows.length + " answers are " +
      "saved as " + name + " (look in your downloads). If no file appeared, use the " +
      "button, or copy the text below into a file of that name."));
    var again = element("button", { type: "button", class: "jspsych-btn",
      id: "compendium-experiment-download" }, "Download the answers");
    again.addEventListener("click", function () { download(text, name); });
    root.appendChild(again);
    var copy = element("textarea", { id: "compendium-experiment-csv", readonly: "readonly",
      rows: String(Math.min(rows.length + 2, 20)), cols: "60",
      style: "display:block;width:100%;margin-top:1em;font-family:monospace" });
    copy.value = text;
    root.appendChild(copy);
    download(text, name);
  }

  function run(root, config, list) {
    if (window.history && window.history.replaceState) {
      try {
        var address = new URL(window.location.href);
        address.searchParams.set("list", list);
        window.history.replaceState(null, "", address.toString());
      } catch (err) { /* some file:// pages refuse; the list is known anyway */ }
    }
    root.innerHTML = "";
    var look = element("style", {}, "#jspsych-image-button-response-stimulus " +
      "{ image-rendering: pixelated; border: 1px solid #ccc; }");
    root.appendChild(look);
    var stage = element("div", { id: "compendium-experiment-stage" });
    root.appendChild(stage);
    var participant = "";
    var rows = [];
    var lastYes = false;
    var jsPsych = initJsPsych({
      display_element: stage,
      on_finish: function () { finish(root, rows, participant, list); }
    });
    var panels = config.lists[list].map(function (panel) {
      return { layer: panel.layer, unit: panel.unit, image: new URL(panel.image, HERE).href };
    });
    var welcome = {
      type: jsPsychHtmlButtonResponse,
      stimulus: instructions(config, list),
      choices: ["Start"]
    };
    var code = {
      type: jsPsychSurveyText,
      preamble: "<p>Please type your participant code (the experimenter gives it to you).</p>",
      questions: [{ prompt: "Participant code", name: "participant", required: true }],
      button_label: "Continue",
      on_finish: function (data) { participant = String(data.response.participant).trim(); }
    };
    var panel = {
      type: jsPsychImageButtonResponse,
      stimulus: jsPsych.timelineVariable("image"),
      render_on_canvas: false,
      stimulus_width: Math.min(560, Math.round(window.innerWidth * 0.9)),
      maintain_aspect_ratio: true,
      choices: ["Yes", "No"],
      prompt: "<p style='font-size:1.2em'>" + QUESTION + "</p>",
      on_finish: function (data) {
        lastYes = data.response === 0;
        rows.push({
          participant: participant,
          list: list,
          layer: jsPsych.evaluateTimelineVariable("layer"),
          unit: jsPsych.evaluateTimelineVariable("unit"),
          yes: lastYes ? "yes" : "no",
          label: ""
        });
      }
    };
    var label = {
      timeline: [{
        type: jsPsychSurveyText,
        questions: [{ prompt: "What do they have in common? (a word or a few)",
                      name: "label", required: true }],
        button_label: "Next",
        on_finish: function (data) {
          rows[rows.length - 1].label = String(data.response.label).trim();
        }
      }],
      conditional_function: function () { return lastYes; }
    };
    var trials = {
      timeline: [panel, label],
      timeline_variables: panels,
      sample: {
        type: "custom",
        fn: function (indices) {
          return shuffled(indices, seeded(hash(participant + "/list " + list)));
        }
      }
    };
    jsPsych.run([welcome, code, trials]);
  }

  function start() {
    var root = document.getElementById("compendium-experiment");
    if (!root) return;
    var config = window.COMPENDIUM_EXPERIMENT;
    if (!config || !config.lists || typeof initJsPsych !== "function") {
      root.innerHTML = "<p><b>The experiment cannot start:</b> " + (config ? "jsPsych" :
        "its lists (lists.js)") + " did not load. Build the book (compendium book) or " +
        "write the experiment with <code>compendium experiment</code>, and open this page " +
        "from the folder that holds them.</p>";
      return;
    }
    if (Object.keys(config.lists).length === 0) {
      root.innerHTML = "<p><b>This build has no panels to show</b>: its profile has no " +
        "network to make activation-maximisation images with. Write an experiment with " +
        "<code>compendium experiment --profile default --out FOLDER</code> and open its " +
        "index.html.</p>";
      return;
    }
    var list = requestedList(config);
    if (list === null) {
      showMenu(root, config, function (chosen) { run(root, config, chosen); });
    } else {
      run(root, config, list);
    }
  }

  window.CompendiumExperiment = { toCsv: toCsv, shuffled: shuffled, seeded: seeded, hash: hash };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
