// The app's own behaviour on top of htmx: the board's drag and drop (SortableJS), the dialog,
// and the column totals after a move. Everything else is plain HTML forms and htmx attributes.
(function () {
  "use strict";
  const locale = document.body.dataset.locale || "pl";
  const dialog = () => document.getElementById("dialog");
  let pendingRevert = null; // a card dragged onto Won/Lost, waiting for the dialog

  document.addEventListener("htmx:configRequest", (event) => {
    const token = document.querySelector('meta[name="csrf-token"]');
    if (token) event.detail.headers["X-CSRF-Token"] = token.content;
  });

  // --- search: "/" anywhere but in a field goes to the top bar's search box ----------------
  document.addEventListener("keydown", (event) => {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
    const box = document.getElementById("top-q");
    if (!box || box.offsetParent === null) return; // none, or hidden (a phone: the icon)
    event.preventDefault();
    box.focus();
  });

  // --- dialog -----------------------------------------------------------------------------
  document.body.addEventListener("crm:open-dialog", () => {
    const d = dialog();
    if (d && !d.open) d.showModal();
    const first = d && d.querySelector("input:not([type=hidden]), select, textarea");
    if (first) first.focus();
  });
  document.body.addEventListener("crm:close-dialog", () => {
    const closed = document.querySelector("#dialog-body [data-closed-deal]");
    if (!closed) { const d = dialog(); if (d && d.open) d.close(); }
  });
  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-close-dialog]")) dialog().close();
  });
  document.addEventListener("close", (event) => {
    if (event.target !== dialog()) return;
    const closed = document.querySelector("#dialog-body [data-closed-deal]");
    if (closed) {
      const card = document.getElementById("card-" + closed.dataset.closedDeal);
      if (card) card.remove();
      pendingRevert = null;
    } else if (pendingRevert) {
      revert(pendingRevert);
      pendingRevert = null;
    }
    document.getElementById("dialog-body").innerHTML = "";
    updateTotals();
  }, true);

  // --- small behaviours, here and not inline: the pages' policy runs no inline script ------
  document.addEventListener("click", (event) => {
    const dismiss = event.target.closest("[data-dismiss]");
    if (dismiss) dismiss.parentElement.remove();
    const selectable = event.target.closest("[data-select-on-click]");
    if (selectable) selectable.select();
  });
  document.addEventListener("change", (event) => {
    const field = event.target.closest("[data-submit-on-change]");
    if (field && field.form) field.form.requestSubmit();
    // A list's "select all" box: every row's box of the same table follows it.
    const all = event.target.closest("[data-select-all]");
    if (all) {
      all.closest("table").querySelectorAll("tbody input[type=checkbox]").forEach((box) => {
        box.checked = all.checked;
      });
    }
  });

  // --- board ------------------------------------------------------------------------------
  function revert(move) {
    const { card, from, index } = move;
    const sibling = from.children[index];
    from.insertBefore(card, sibling || null);
  }

  function columnOf(stageId) {
    return document.querySelector('.cards[data-stage-id="' + stageId + '"]');
  }

  function money(amount, currency) {
    try {
      return new Intl.NumberFormat(locale, { style: "currency", currency }).format(amount);
    } catch (e) {
      return amount.toFixed(2) + " " + currency;
    }
  }

  function updateTotals(only) {
    const columns = only ? only.map((list) => list.closest(".column")) : document.querySelectorAll(".column");
    columns.forEach((column) => {
      if (!column) return;
      const list = column.querySelector(".cards");
      if (!list || list.dataset.kind !== "OPEN") return;
      const sums = {}, weighted = {};
      const cards = list.querySelectorAll(".card");
      cards.forEach((card) => {
        const amount = parseFloat(card.dataset.amount), currency = card.dataset.currency;
        if (isNaN(amount)) return;
        sums[currency] = (sums[currency] || 0) + amount;
        weighted[currency] = (weighted[currency] || 0) + amount * (parseInt(card.dataset.probability, 10) || 0) / 100;
      });
      const count = column.querySelector("[data-count]");
      if (count && !count.textContent.endsWith("+")) count.textContent = String(cards.length);
      const render = (target, values) => {
        if (!target) return;
        const keys = Object.keys(values).sort();
        target.innerHTML = keys.length ? keys.map((c) => "<span>" + money(values[c], c) + "</span>").join("") : "–";
      };
      render(column.querySelector("[data-sum]"), sums);
      render(column.querySelector("[data-weighted]"), weighted);
    });
  }

  let lastMove = null; // the columns of the drag in flight: only they are recounted

  function startMove(card, from, index, to) {
    const move = { card, from, index, started: performance.now() };
    lastMove = { from, to };
    const values = { stage: to.dataset.stageId, version: card.dataset.version, kind: to.dataset.kind };
    if (to.dataset.kind !== "OPEN") pendingRevert = move;
    window.crmMoveStarted = move.started;
    htmx.ajax("POST", "/deals/" + card.dataset.id + "/move", {
      source: card, target: card, swap: "outerHTML settle:0ms", values,
    });
  }

  function initBoard(root) {
    if (typeof Sortable === "undefined") return;
    root.querySelectorAll(".cards").forEach((list) => {
      if (list.dataset.sortable) return;
      list.dataset.sortable = "1";
      Sortable.create(list, {
        group: "deals",
        animation: 120,
        filter: "select, button, input, a",
        preventOnFilter: false,
        ghostClass: "card-ghost",
        onEnd: (event) => {
          if (event.from === event.to) return;
          startMove(event.item, event.from, event.oldIndex, event.to);
        },
      });
    });
  }

  // A card answered by the server (its response says so) goes to the column of the stage it is
  // in now, back where it came from when the move was refused; then the totals are recounted.
  document.body.addEventListener("crm:card", (event) => {
    const card = document.getElementById("card-" + event.detail.id);
    let column = null;
    if (card) {
      column = columnOf(card.dataset.stageId);
      if (column && card.parentElement !== column) column.prepend(card);
    }
    if (lastMove && column) {
      updateTotals([lastMove.from, lastMove.to]);
    } else {
      updateTotals();
    }
    lastMove = null;
    if (window.crmMoveStarted) {
      window.crmLastMoveMs = performance.now() - window.crmMoveStarted;
      window.crmMoveStarted = null;
    }
  });

  document.addEventListener("change", (event) => {
    const select = event.target.closest(".card-move select");
    if (!select) return;
    const kind = select.selectedOptions[0] && select.selectedOptions[0].dataset.kind;
    let hidden = select.form.querySelector("input[name=kind]");
    if (!hidden) {
      hidden = document.createElement("input");
      hidden.type = "hidden"; hidden.name = "kind"; select.form.appendChild(hidden);
    }
    hidden.value = kind || "OPEN";
  });

  // A card's "Move" button: the shared move form, for this card (keyboard users' drag).
  document.addEventListener("click", (event) => {
    const opener = event.target.closest(".card-move-open");
    if (!opener) return;
    const card = opener.closest(".card");
    const template = document.getElementById("move-menu");
    if (!card || !template) return;
    let form = card.querySelector("form.card-move");
    if (!form) {
      form = template.content.firstElementChild.cloneNode(true);
      form.setAttribute("hx-post", "/deals/" + card.dataset.id + "/move");
      form.setAttribute("hx-target", "#card-" + card.dataset.id);
      form.querySelector("input[name=version]").value = card.dataset.version;
      form.querySelector("select").value = card.dataset.stageId;
      opener.after(form);
      htmx.process(form);
    }
    form.querySelector("select").focus();
  });

  document.addEventListener("DOMContentLoaded", () => initBoard(document));
  document.addEventListener("htmx:load", (event) => initBoard(event.detail.elt.parentElement || document));
})();
// The offer form shows the placeholder fields of the chosen template only.
document.addEventListener("change", (event) => {
  const select = event.target.closest("#of-template");
  if (!select) return;
  select.form.querySelectorAll(".template-values").forEach((set) => {
    const chosen = set.dataset.template === select.value;
    set.hidden = !chosen; set.disabled = !chosen;
  });
});
// Uploads (forms marked data-signed-upload): the form's fields, without the file, ask for a
// signed URL; the browser PUTs the file there (/files/ on this origin, up to 50 MB) and goes
// on to data-then, "{id}" being the document's id. Messages come translated in data-*.
document.addEventListener("submit", async (event) => {
  const form = event.target.closest("form[data-signed-upload]");
  if (!form) return;
  event.preventDefault();
  const say = (message) => {
    const box = form.querySelector("[data-upload-error]");
    box.textContent = message; box.hidden = !message;
  };
  const input = form.querySelector("input[type=file]");
  const file = input.files[0];
  const button = form.querySelector("button");
  if (!file) return;
  const fields = new FormData(form);
  fields.delete(input.name);
  fields.set("fileName", file.name);
  fields.set("mediaType", file.type || "");
  say("");
  button.disabled = true;
  try {
    const asked = await fetch(form.action, {method: "POST", body: fields, credentials: "same-origin"});
    const grant = await asked.json().catch(() => ({message: form.dataset.failed}));
    if (!asked.ok) {
      const details = Object.values(grant.fields || {});
      say([grant.message, ...details].filter(Boolean).join(" "));
      return;
    }
    if (file.size > grant.maxBytes) { say(form.dataset.tooLarge); return; }
    const token = document.querySelector('meta[name="csrf-token"]');
    const put = await fetch(grant.url, {
      method: "PUT", body: file, credentials: "same-origin",
      headers: {"Content-Type": fields.get("mediaType") || "application/octet-stream",
                "X-CSRF-Token": token ? token.content : ""},
    });
    const answer = await put.json().catch(() => ({}));
    if (put.ok) {
      window.location.assign(form.dataset.then.replace("{id}", answer.document.id));
      return;
    }
    // Our own words for what the page knows; the service's, naming the fault, for the rest
    // (an offer template's problems with their places, a version conflict).
    const failure = (answer.errors || [])[0] || {};
    const extensions = failure.extensions || {};
    const known = {PAYLOAD_TOO_LARGE: form.dataset.tooLarge, CONTENT_REFUSED: form.dataset.refused,
                   URL_EXPIRED: form.dataset.expired}[extensions.code];
    const details = (extensions.fields || []).map((f) => f.message);
    say(known || [failure.message, ...details].filter(Boolean).join(" ") || form.dataset.failed);
  } catch (error) {
    say(form.dataset.failed);
  } finally {
    button.disabled = false;
  }
});
