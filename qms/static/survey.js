/* QMS answering form: display conditions evaluated in the browser with exactly the semantics of
   qms/surveys/conditions.py and definition.visible_keys. The page works without this script: the
   server validates and re-renders with hidden questions dropped. Under node, require() returns
   the evaluator (evaluate, visibleKeys, parseAnswer) without touching a DOM. */
(function (root, factory) {
  "use strict";
  var api = factory();
  if (typeof module === "object" && module.exports) {
    module.exports = api;
  } else {
    root.QMSSurvey = api;
    if (typeof document !== "undefined") {
      if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", function () { api.init(document); });
      } else {
        api.init(document);
      }
    }
  }
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  // -- conditions.py ------------------------------------------------------------------------
  function isEmptyObject(v) {
    return v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0;
  }

  function num(v) {  // _num: booleans count as 1/0, numbers as themselves, anything else None
    if (typeof v === "boolean") return v ? 1 : 0;
    if (typeof v === "number" && isFinite(v)) return v;
    return null;
  }

  function pyStr(v) {  // str() as Python prints the values a definition or an answer can hold
    if (v === null || v === undefined) return "None";
    if (typeof v === "boolean") return v ? "True" : "False";
    if (typeof v === "number") {
      if (Number.isInteger(v) || v === 0) return String(v);
      var a = Math.abs(v);
      if (a < 1e-4 || a >= 1e16) {
        return v.toExponential().replace(/e([+-])(\d)$/, "e$10$2");
      }
      return String(v);
    }
    if (typeof v === "string") return v;
    return "\u0000" + JSON.stringify(v);  // lists and objects: equal only to the same structure
  }

  function same(v, t) {  // _same
    if (typeof v === "boolean" || typeof t === "boolean") {
      if (typeof t !== "string") return num(v) === num(t);
      return (t === "yes" && v === true) || (t === "no" && v === false);
    }
    if (typeof v === "number" && typeof t === "number") return v === t;
    return pyStr(v) === pyStr(t);
  }

  function leaf(cond, answers) {
    var value = Object.prototype.hasOwnProperty.call(answers, cond.q) ? answers[cond.q] : null;
    if (value === null || value === undefined || (Array.isArray(value) && value.length === 0) ||
        isEmptyObject(value)) {
      return false;
    }
    var op = cond.op;
    var target = Object.prototype.hasOwnProperty.call(cond, "value") ? cond.value : null;
    if (op === "equals" || op === "in") {
      var targets = op === "in" ? target : [target];
      if (typeof targets === "string") targets = Array.from(targets);  // Python iterates a str
      if (!Array.isArray(targets)) targets = [targets];
      var values = Array.isArray(value) ? value : [value];
      return values.some(function (v) { return targets.some(function (t) { return same(v, t); }); });
    }
    var n = num(value);
    var t2 = num(target);
    if (n === null || t2 === null) return false;
    return op === "at_most" ? n <= t2 : n >= t2;
  }

  function evaluate(cond, answers) {
    if (!cond || isEmptyObject(cond)) return true;
    if (Object.prototype.hasOwnProperty.call(cond, "all")) {
      return cond.all.every(function (c) { return evaluate(c, answers); });
    }
    if (Object.prototype.hasOwnProperty.call(cond, "any")) {
      return cond.any.some(function (c) { return evaluate(c, answers); });
    }
    return leaf(cond, answers);
  }

  // -- definition.visible_keys: in order; answers to hidden questions do not count ------------
  function visibleKeys(definition, answers) {
    var shown = [];
    var effective = {};
    (definition.sections || []).forEach(function (section) {
      var sectionOn = evaluate(section.condition, effective);
      (section.questions || []).forEach(function (q) {
        if (sectionOn && evaluate(q.condition, effective)) {
          shown.push(q.key);
          if (Object.prototype.hasOwnProperty.call(answers, q.key)) effective[q.key] = answers[q.key];
        }
      });
    });
    return shown;
  }

  // -- reading an answer the way questions.py parses it (undefined: no valid answer) ----------
  var SCALES = { csat: [1, 5], nps: [0, 10], ces: [1, 7] };
  var DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

  function nfkc(s) { return typeof s.normalize === "function" ? s.normalize("NFKC") : s; }

  function one(raw) {
    var values = raw.filter(function (v) { return v !== null && v !== undefined; });
    if (values.length !== 1) return values.length ? undefined : "";
    return values[0].trim();
  }

  function optionKeys(q) { return q.options.map(function (o) { return o.key; }); }

  function parseAnswer(q, raw) {
    // q: {type, min, max, max_length, min_selected, max_selected, options?}; raw: list of strings
    var s;
    switch (q.type) {
      case "csat": case "nps": case "ces": case "rating": {
        s = one(raw);
        if (s === undefined || s === "") return undefined;
        s = nfkc(s);
        if (!/^-?[0-9]+$/.test(s)) return undefined;
        var range = SCALES[q.type] || [q.min === undefined ? 1 : q.min, q.max === undefined ? 5 : q.max];
        var v = parseInt(s, 10);
        return v >= range[0] && v <= range[1] ? v : undefined;
      }
      case "number": {
        s = one(raw);
        if (s === undefined) return undefined;
        s = nfkc(s).replace(/,/g, "");
        if (s === "" || !/^-?[0-9]{1,15}(\.[0-9]{1,6})?$/.test(s)) return undefined;
        var x = parseFloat(s);
        if ((q.min !== undefined && x < q.min) || (q.max !== undefined && x > q.max)) return undefined;
        return x;
      }
      case "yesno":
        s = one(raw);
        if (s === undefined) return undefined;
        s = s.toLowerCase();
        return s === "yes" ? true : s === "no" ? false : undefined;
      case "single":
        s = one(raw);
        if (!s || (q.options && optionKeys(q).indexOf(s) < 0)) return undefined;
        return s;
      case "multiple": {
        var chosen = raw.map(function (c) { return (c || "").trim(); }).filter(Boolean);
        if (!chosen.length) return undefined;
        if (new Set(chosen).size !== chosen.length) return undefined;
        if (q.options) {
          var keys = optionKeys(q);
          if (chosen.some(function (c) { return keys.indexOf(c) < 0; })) return undefined;
          chosen.sort(function (a, b) { return keys.indexOf(a) - keys.indexOf(b); });
        }
        if (chosen.length < (q.min_selected || 0)) return undefined;
        if (q.max_selected !== undefined && chosen.length > q.max_selected) return undefined;
        return chosen;
      }
      case "text": case "textarea": {
        s = one(raw);
        if (!s) return undefined;
        var limit = q.max_length || (q.type === "text" ? 500 : 5000);
        if (Array.from(s).length > limit || s.indexOf("\u0000") >= 0) return undefined;
        return s;
      }
      case "date": {
        s = one(raw);
        if (!s || !DATE_RE.test(s)) return undefined;
        var d = new Date(s + "T00:00:00Z");
        if (isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== s) return undefined;
        return s >= "1900-01-01" && s <= "2100-12-31" ? s : undefined;
      }
      default:
        return undefined;  // static text, grids: conditions never read them
    }
  }

  // -- the page -------------------------------------------------------------------------------
  function numberAttr(el, name) {
    var v = el.getAttribute(name);
    return v === null || v === "" ? undefined : Number(v);
  }

  function describe(form) {
    var sections = [];
    form.querySelectorAll("[data-section]").forEach(function (sec) {
      var section = { el: sec, condition: parseJSON(sec.getAttribute("data-condition")), questions: [] };
      sec.querySelectorAll("[data-question]").forEach(function (el) {
        section.questions.push({
          el: el, key: el.getAttribute("data-key"), type: el.getAttribute("data-type"),
          condition: parseJSON(el.getAttribute("data-condition")),
          min: numberAttr(el, "data-min"), max: numberAttr(el, "data-max"),
          max_length: numberAttr(el, "data-maxlength"),
          min_selected: numberAttr(el, "data-min-selected"),
          max_selected: numberAttr(el, "data-max-selected")
        });
      });
      sections.push(section);
    });
    return { sections: sections };
  }

  function parseJSON(text) {
    if (!text) return null;
    try { return JSON.parse(text); } catch (e) { return null; }
  }

  function rawValues(q) {
    var out = [];
    q.el.querySelectorAll("input, textarea, select").forEach(function (input) {
      if (input.name !== "q_" + q.key) return;
      if ((input.type === "radio" || input.type === "checkbox") && !input.checked) return;
      out.push(input.value);
    });
    return out;
  }

  function update(form, def) {
    var answers = {};
    def.sections.forEach(function (s) {
      s.questions.forEach(function (q) {
        var v = parseAnswer(q, rawValues(q));
        if (v !== undefined) answers[q.key] = v;
      });
    });
    var shown = new Set(visibleKeys(def, answers));
    def.sections.forEach(function (s) {
      var any = false;
      s.questions.forEach(function (q) {
        var on = shown.has(q.key);
        any = any || on;
        q.el.hidden = !on;
        q.el.querySelectorAll("input, textarea, select").forEach(function (i) { i.disabled = !on; });
      });
      s.el.hidden = !any;
    });
    var seen = form.querySelector('input[name="_seen"]');
    if (seen) seen.value = Array.from(shown).sort().join(",");
  }

  function init(doc) {
    var form = doc.querySelector("form[data-survey]");
    if (form) {
      var def = describe(form);
      var run = function () { update(form, def); };
      form.addEventListener("change", run);
      form.addEventListener("input", run);
      run();
    }
    var summary = doc.getElementById("error-summary");
    if (summary) {
      summary.focus();
      // a link in the summary takes the keyboard to the question's first field
      summary.addEventListener("click", function (event) {
        var href = event.target.closest && event.target.closest("a[href^='#']");
        var target = href && doc.getElementById(href.getAttribute("href").slice(1));
        var field = target && target.querySelector("input:not([disabled]), textarea, select");
        if (field) {
          event.preventDefault();
          target.scrollIntoView({ block: "start" });
          field.focus();
        }
      });
    }
  }

  return { evaluate: evaluate, visibleKeys: visibleKeys, parseAnswer: parseAnswer, init: init };
});
