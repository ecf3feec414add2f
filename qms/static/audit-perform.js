/* Performing an audit: the live progress and partial score. Posts the checklist form (without
   its files) to data-preview-url whenever an answer changes and shows the server's wording in
   the sticky progress bar and each section's score in [data-section-score]. The page works
   without this script: progress and score then update when the answers are saved. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-preview-url]");
  if (!form || !window.fetch || !window.FormData) return;
  var bar = document.getElementById("audit-progress-bar");
  var progressText = document.getElementById("audit-progress-text");
  var scoreText = document.getElementById("audit-score-text");
  var timer = null;
  var latest = 0;

  function show(body) {
    if (!body || typeof body.text !== "string") return;
    if (scoreText) scoreText.textContent = body.text;
    if (progressText && typeof body.progress === "string") progressText.textContent = body.progress;
    if (bar) { bar.max = body.total || 0; bar.value = body.answered || 0; }
    var sections = body.sections || {};
    var cells = document.querySelectorAll("[data-section-score]");
    for (var i = 0; i < cells.length; i++) {
      var key = cells[i].getAttribute("data-section-score");
      cells[i].textContent = Object.prototype.hasOwnProperty.call(sections, key) ? sections[key] : "";
    }
  }

  function preview() {
    var mine = ++latest;
    var data = new FormData(form);
    var names = [];
    data.forEach(function (value, name) { if (typeof value !== "string") names.push(name); });
    names.forEach(function (name) { data.delete(name); });  // files are sent when saving
    var headers = { "Accept": "application/json" };
    var token = form.querySelector("input[name='csrf_token']");
    if (token) headers["X-CSRFToken"] = token.value;
    fetch(form.getAttribute("data-preview-url"), {
      method: "POST", body: data, credentials: "same-origin", headers: headers
    }).then(function (resp) { return resp.json(); }).then(function (body) {
      if (mine === latest && body && !body.error) show(body);
    }).catch(function () { /* the saved progress still shows after saving */ });
  }

  form.addEventListener("change", function (event) {
    if (event.target && event.target.type === "file") return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(preview, 250);
  });
})();
