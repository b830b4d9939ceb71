// The twin form's drafts, kept in this browser's localStorage only (never on the node: a draft may
// hold names and contacts nobody decided to publish yet). Saved on every change; "Restore the
// draft" posts it back to the form, which redraws it (with as many rows as it had).
(function () {
  "use strict";
  var form = document.getElementById("twin-form");
  if (!form) { return; }
  var key = "ecgraph-draft:" + (form.getAttribute("data-twin") || "new");
  var restore = document.getElementById("draft-restore");
  var forget = document.getElementById("draft-forget");

  function entries() {
    var out = [];
    new FormData(form).forEach(function (value, name) {
      if (name !== "token" && name !== "action" && typeof value === "string") { out.push([name, value]); }
    });
    return out;
  }
  function save() {
    try { localStorage.setItem(key, JSON.stringify(entries())); } catch (e) { /* storage off: no drafts */ }
  }
  form.addEventListener("input", save);
  form.addEventListener("change", save);

  var draft = null;
  try { draft = localStorage.getItem(key); } catch (e) { draft = null; }
  if (draft) { restore.hidden = false; forget.hidden = false; }
  restore.addEventListener("click", function () {
    var items = JSON.parse(draft || "[]");
    var post = document.createElement("form");
    post.method = "post";
    post.action = form.getAttribute("action");  // form.action is the buttons named "action"
    items.push(["action", "restore"]);
    items.forEach(function (item) {
      var field = document.createElement("input");
      field.type = "hidden";
      field.name = item[0];
      field.value = item[1];
      post.appendChild(field);
    });
    document.body.appendChild(post);
    post.submit();
  });
  forget.addEventListener("click", function () {
    try { localStorage.removeItem(key); } catch (e) { /* nothing kept */ }
    restore.hidden = true;
    forget.hidden = true;
  });
}());
