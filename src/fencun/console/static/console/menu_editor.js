// The menu editor: the form posts every slot as it is; this only folds empty slots away,
// shows the fields a button's type uses, and counts the bytes of names as the platform does.
(function () {
  var form = document.querySelector("form.menu-editor");
  if (!form) return;
  var encoder = new TextEncoder();

  function clear(box) {
    box.querySelectorAll("input, textarea").forEach(function (el) { el.value = ""; });
    box.querySelectorAll("select").forEach(function (el) { el.selectedIndex = 0; });
  }
  function ownType(box) { return box.querySelector(":scope > p > label > select.menu-type"); }
  function showFields(box) {
    var type = ownType(box).value;
    box.querySelectorAll(":scope > p.menu-field").forEach(function (p) {
      p.hidden = p.dataset.types.split(" ").indexOf(type) < 0;
    });
    var subs = box.querySelector(":scope > .menu-subs");
    if (subs) subs.hidden = type !== "group";
  }
  function count(input) {
    var out = input.parentNode.parentNode.querySelector(".bytes");
    var used = encoder.encode(input.value.trim()).length, most = Number(input.dataset.maxBytes);
    out.textContent = used ? used + " / " + most : "";
    out.className = "bytes" + (used > most ? " error" : " hint");
  }
  function firstHidden(selector, within) {
    return Array.prototype.find.call(within.querySelectorAll(selector), function (f) { return f.hidden; });
  }
  function refreshAdders() {
    form.querySelector(".menu-add").hidden = !firstHidden(":scope fieldset.menu-slot", form);
    form.querySelectorAll(".menu-subs").forEach(function (subs) {
      subs.querySelector(".menu-add-sub").hidden = !firstHidden(":scope > fieldset.menu-sub", subs);
    });
  }

  var slots = form.querySelectorAll("fieldset.menu-slot, fieldset.menu-sub");
  slots.forEach(function (box) {
    box.hidden = box.dataset.used !== "1";
    showFields(box);
    ownType(box).addEventListener("change", function () { showFields(box); });
    box.querySelector(":scope > .menu-remove").addEventListener("click", function () {
      clear(box);
      box.hidden = true;
      refreshAdders();
    });
  });
  var tops = form.querySelectorAll("fieldset.menu-slot");
  if (!Array.prototype.some.call(tops, function (f) { return !f.hidden; })) tops[0].hidden = false;

  form.querySelector(".menu-add").addEventListener("click", function () {
    var next = firstHidden(":scope fieldset.menu-slot", form);
    if (next) next.hidden = false;
    refreshAdders();
  });
  form.querySelectorAll(".menu-add-sub").forEach(function (button) {
    button.addEventListener("click", function () {
      var next = firstHidden(":scope > fieldset.menu-sub", button.parentNode);
      if (next) next.hidden = false;
      refreshAdders();
    });
  });
  form.querySelectorAll("input[data-max-bytes]").forEach(function (input) {
    count(input);
    input.addEventListener("input", function () { count(input); });
  });
  refreshAdders();
})();
