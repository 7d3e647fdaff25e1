// The approvals inbox: pending approvals, newest first, each as its plan card. It redraws from
// the feed, so an approval decided anywhere leaves every open inbox at once.

import { api } from "./api.js";
import { h, clear } from "./dom.js";
import { planCard } from "./plancard.js";
import { runView } from "./run.js";

const LIMIT = 100;

/** Whether the signed-in user may decide `approval` (the API checks again). */
function mayDecide(app, approval) {
  const mine = approval.requested_by === app.me.name;
  if (approval.level >= 2) return !mine && app.can("approve");
  return mine ? app.can("confirm_own") : app.can("approve");
}

let counting = null;

/** The number beside "Approvals" in the navigation: what waits for this user. */
export function refreshPendingCount(app) {
  clearTimeout(counting);
  counting = setTimeout(async () => {
    try {
      const page = await api("/approvals", { query: { status: "pending", limit: LIMIT } });
      const mine = page.data.filter((a) => mayDecide(app, a)).length;
      const badge = document.getElementById("pending-count");
      badge.textContent = String(mine);
      badge.setAttribute("aria-label", `${mine} pending`);
      badge.dataset.count = String(mine);
    } catch { /* the next feed event tries again */ }
  }, 150);
}

export function showInbox(view, app) {
  const list = h("div", { class: "inbox" });
  const status = h("p", { class: "muted", role: "status" });
  view.append(h("h1", { tabindex: -1 }, "Approvals"),
    h("p", { class: "hint" }, "Pending approvals, newest first. A decision taken on any page shows here at once."),
    status, list);
  const cards = new Map(); // approval id → {element, stop}
  let timer = null;
  async function load() {
    let page;
    try {
      page = await api("/approvals", { query: { status: "pending", limit: LIMIT } });
    } catch (error) {
      status.textContent = error.message;
      return;
    }
    const wanted = page.data;
    status.textContent = wanted.length ? `${page.count} pending.` : "Nothing waits for a decision.";
    const keep = new Set(wanted.map((a) => a.id));
    for (const [id, card] of cards) {
      if (!keep.has(id) && !card.approvedHere) { card.stop(); card.element.remove(); cards.delete(id); }
    }
    for (const approval of wanted) {
      if (!cards.has(approval.id)) {
        const element = h("div", { class: "inbox-item", dataset: { approval: approval.id } });
        const card = { element, stops: [], approvedHere: false, stop: () => card.stops.forEach((s) => s()) };
        // Approved here: the item stays, and the run is followed in it from the first event
        // (an immediate plan's approval answers only once the run has ended).
        card.stops.push(planCard(element, app, approval.execution_id, {
          headingLevel: 2,
          onApproving: () => {
            if (card.approvedHere) return;
            card.approvedHere = true;
            card.stops.push(runView(element, app, approval.execution_id, { compact: true, heading: 3 }));
          },
        }));
        cards.set(approval.id, card);
      }
    }
    // Newest first, the API's order; moved only when it changed (a moved node loses focus).
    const order = [...cards.values()].filter((c) => c.approvedHere).map((c) => c.element)
      .concat(wanted.filter((a) => !cards.get(a.id).approvedHere).map((a) => cards.get(a.id).element));
    if (order.some((element, i) => list.children[i] !== element)) list.append(...order);
  }
  const stop = app.onFeed(() => { clearTimeout(timer); timer = setTimeout(load, 150); });
  load();
  return () => { stop(); clearTimeout(timer); for (const card of cards.values()) card.stop(); };
}
