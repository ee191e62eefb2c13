// The content lint while the merchant writes: title and body go to the server after a pause.
(function () {
  var form = document.getElementById("campaign-form");
  var out = document.getElementById("lint-live");
  if (!form || !out) return;
  var timer = null, seq = 0;
  function check() {
    var data = new FormData();
    data.append("csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value);
    data.append("title", (form.querySelector("[name=title]") || {}).value || "");
    data.append("body", (form.querySelector("[name=body]") || {}).value || "");
    var mine = ++seq;
    fetch(form.dataset.lintUrl, {method: "POST", body: data, credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (d) {
        if (mine !== seq || !d.findings) return;
        out.textContent = "";
        var list = document.createElement("ul");
        list.className = "findings";
        d.findings.forEach(function (f) {
          var li = document.createElement("li");
          li.className = f.severity;
          li.textContent = f.severity + ": " + f.message + (f.fix ? " — " + f.fix : "");
          list.appendChild(li);
        });
        if (!d.findings.length) out.textContent = out.dataset.none;
        else out.appendChild(list);
      });
  }
  form.addEventListener("input", function (e) {
    if (e.target.name !== "title" && e.target.name !== "body") return;
    clearTimeout(timer);
    timer = setTimeout(check, 500);
  });
})();
