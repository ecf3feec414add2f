/* QA rubric builder: the sum of the scored sections' weights, live as they are typed. The
   server checks the same on save (rubric_format.check_definition); this only saves a trip. */
(function () {
  "use strict";
  function num(input) {
    var v = parseFloat(String(input.value).replace(",", "."));
    return isFinite(v) ? v : 0;
  }
  function show(output, total) {
    var rounded = Math.round(total * 100) / 100;
    output.textContent = String(rounded);
    output.className = Math.abs(rounded - 100) <= 0.01 ? "ok" : "off";
  }
  function weightsTable(form) {
    var output = form.querySelector("[data-weight-sum]");
    var inputs = form.querySelectorAll("input[data-bonus]");
    function update() {
      var total = 0;
      inputs.forEach(function (i) { if (i.getAttribute("data-bonus") === "0") total += num(i); });
      show(output, total);
    }
    inputs.forEach(function (i) { i.addEventListener("input", update); });
  }
  function sectionForm(form) {
    var others = parseFloat(form.getAttribute("data-weight-others")) || 0;
    var weight = form.querySelector("input[name=weight]");
    var bonus = form.querySelector("input[name=bonus]");
    var output = form.querySelector("[data-weight-sum]");
    if (!weight || !output) return;
    function update() { show(output, others + (bonus && bonus.checked ? 0 : num(weight))); }
    weight.addEventListener("input", update);
    if (bonus) bonus.addEventListener("change", update);
  }
  function init() {
    document.querySelectorAll("form[data-live-weights]").forEach(weightsTable);
    document.querySelectorAll("form[data-weight-others]").forEach(sectionForm);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
