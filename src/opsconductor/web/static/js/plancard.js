// The plan card: what a reviewer needs to decide (GET /executions/{id}/plan) and, for who may,
// the decision. It follows the feed, so a decision taken on any page shows on every page.

import { api } from "./api.js";
import { h, clear, when, seconds, stateBadge, announce } from "./dom.js";

const SHOWN_COMMANDS = 200;
const SHOWN_HOSTS = 30;
const LEVEL_WORDS = {
  0: "no approval needed",
  1: "level 1: confirmation by the requester",
  2: "level 2: review by an approver other than the requester",
  3: "level 3: each step approved by someone other than the requester",
};
let serial = 0;

/** Render the card of `executionId` into `container`; returns a function that stops it. */
export function planCard(container, app, executionId, { onDecided, onApproving, headingLevel = 3 } = {}) {
  const id = `plan-${++serial}`;
  const card = h("article", { class: "card plan", "aria-labelledby": `${id}-title`, dataset: { execution: executionId } },
    h("p", { class: "muted" }, "Loading the plan…"));
  container.append(card);
  let pending = null;
  let busy = false;
  async function load() {
    if (busy) return;
    try {
      const plan = await api(`/executions/${encodeURIComponent(executionId)}/plan`);
      render(card, app, plan, id, headingLevel, decide);
    } catch (error) {
      clear(card).append(h("p", { class: "error", role: "alert" }, `The plan could not be read: ${error.message}`));
    }
  }
  async function decide(approval, verb, comment) {
    busy = true;
    if (verb === "approve" && onApproving) onApproving();
    const status = card.querySelector(".decision-status");
    status.textContent = verb === "approve" ? "Approving…" : "Denying…";
    try {
      const body = verb === "approve" ? {} : { comment };
      const answer = await api(`/approvals/${encodeURIComponent(approval.id)}/${verb}`, { method: "POST", body });
      announce(verb === "approve" ? "Approved." : "Denied.");
      busy = false;
      await load();
      if (onDecided) onDecided(verb, answer);
    } catch (error) {
      busy = false;
      await load();
      const after = card.querySelector(".decision-status");
      if (after) after.textContent = error.message;
    }
  }
  const stop = app.onFeed((event) => {
    if (event.execution_id !== executionId) return;
    clearTimeout(pending);
    pending = setTimeout(load, 100);
  });
  load();
  return () => { stop(); clearTimeout(pending); };
}

function render(card, app, plan, id, level, decide) {
  const focused = card.contains(document.activeElement) ? document.activeElement.dataset.focusKey : null;
  clear(card);
  card.dataset.state = plan.state;
  card.append(
    h(`h${level}`, { id: `${id}-title`, class: "card-title" }, plan.summary || "Plan"),
    h("p", { class: "muted" }, `Asked by ${plan.requested_by}: “${plan.request_text}” `, stateBadge(plan.state)),
    facts(plan),
    targets(plan),
    steps(plan),
    approvals(plan),
    decision(app, plan, id, decide),
  );
  if (focused) {
    const again = card.querySelector(`[data-focus-key="${focused}"]`);
    if (again && !again.disabled) again.focus();
  }
}

function facts(plan) {
  const rows = [
    ["Risk", `${plan.risk_level}${plan.risk_reasons.length ? ` — ${plan.risk_reasons.join("; ")}` : ""}`],
    ["Reversible", plan.reversible ? "yes" : "NO — this cannot be undone"],
    ["Rollback", plan.rollback.length
      ? plan.rollback.map((r) => `${r.tool} after ${r.step_id}`).join("; ")
      : "none declared"],
    ["Blast radius", blastRadius(plan)],
    ["Estimate", `${seconds(plan.estimate_s)}, runs ${plan.mode === "background" ? "in the background" : "immediately"}`],
    ["Approval", LEVEL_WORDS[plan.approval_level] || `level ${plan.approval_level}`],
  ];
  return h("dl", { class: "facts" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", { dataset: { fact: k.toLowerCase() } }, v)]));
}

function blastRadius(plan) {
  if (!plan.host_count) return "the inventory only (no host)";
  const parts = plan.environments.map((e) => {
    if (e.of === null || e.of === undefined) return `${e.hosts.length} in ${e.environment}`;
    const share = e.of ? Math.round((100 * e.hosts.length) / e.of) : 100;
    return `${e.hosts.length} of ${e.of} ${e.environment} assets (${share}%)`;
  });
  return `${plan.host_count} host${plan.host_count === 1 ? "" : "s"}: ${parts.join(", ")}`;
}

function targets(plan) {
  if (!plan.host_count) return null;
  return h("section", { class: "targets" },
    h("h4", {}, "Targets by environment"),
    h("ul", {}, plan.environments.map((e) => h("li", {},
      h("strong", {}, `${e.environment}: `),
      e.hosts.slice(0, SHOWN_HOSTS).join(", "),
      e.hosts.length > SHOWN_HOSTS ? ` and ${e.hosts.length - SHOWN_HOSTS} more` : ""))));
}

function steps(plan) {
  return h("section", { class: "steps" },
    h("h4", {}, "Steps, in order"),
    h("ol", {}, plan.steps.map((step) => {
      const commands = step.commands.slice(0, SHOWN_COMMANDS).join("\n")
        + (step.commands.length > SHOWN_COMMANDS ? `\n… and ${step.commands.length - SHOWN_COMMANDS} more` : "");
      return h("li", { dataset: { step: step.id } },
        h("span", { class: step.read_only ? "tag" : "tag change" }, step.read_only ? "read-only" : "changes"),
        ` ${step.description} `,
        h("span", { class: "muted" }, `(${step.tool}; ${step.targets.length || "no"} host${step.targets.length === 1 ? "" : "s"}`
          + `${step.depends_on.length ? `; after ${step.depends_on.join(", ")}` : ""}; timeout ${seconds(step.timeout_s)})`),
        h("details", { class: "commands" },
          h("summary", {}, `Exact commands (${step.commands.length})`),
          h("pre", { class: "command" }, commands)));
    })));
}

function approvals(plan) {
  if (!plan.approvals.length) return null;
  return h("section", { class: "approvals" },
    h("h4", {}, "Approvals"),
    h("ul", {}, plan.approvals.map((a) => h("li", { dataset: { approval: a.id, status: a.status } },
      stateBadge(a.status),
      ` level ${a.level}${a.step_id ? `, step ${a.step_id}` : ""}`,
      a.decided_by ? ` — ${a.status} by ${a.decided_by} ${when(a.decided_at)}` : "",
      a.status === "pending" ? ` — expires ${when(a.expires_at)}` : "",
      a.status === "expired" ? ` — nobody decided before ${when(a.expires_at)}` : "",
      a.comment ? h("q", { class: "comment" }, a.comment) : null))));
}

/** The buttons for the pending approval, or the reason there are none. */
function decision(app, plan, id, decide) {
  const box = h("div", { class: "decision" });
  const status = h("p", { class: "decision-status", role: "status" });
  const open = plan.approvals.filter((a) => a.status === "pending");
  if (!open.length) {
    box.append(h("p", { class: "muted settled" }, settledWords(plan)), status);
    return box;
  }
  const approval = open[open.length - 1];
  const mine = plan.requested_by === app.me.name;
  const needsOther = approval.level >= 2 && mine;
  const may = needsOther ? false
    : (approval.level === 1 && mine) ? app.can("confirm_own") : app.can("approve");
  if (!may && !needsOther) {
    box.append(h("p", { class: "muted" }, "Waiting for an approver; your role cannot decide."), status);
    return box;
  }
  const why = h("p", { id: `${id}-why`, class: "why" }, needsOther ? "needs another approver" : "");
  const approve = h("button", {
    type: "button", class: "primary", disabled: needsOther, dataset: { focusKey: "approve" },
    "aria-describedby": needsOther ? `${id}-why` : null, onclick: () => decide(approval, "approve"),
  }, "Approve");
  const comment = h("textarea", { id: `${id}-comment`, rows: 2, "aria-required": "true", dataset: { focusKey: "comment" } });
  const form = h("form", { class: "deny-form", hidden: true, onsubmit: (e) => {
    e.preventDefault();
    if (!comment.value.trim()) { status.textContent = "Say why you deny it."; comment.focus(); return; }
    decide(approval, "deny", comment.value.trim());
  } },
  h("label", { for: `${id}-comment` }, "Why deny it? (required)"), comment,
  h("button", { type: "submit", class: "danger", dataset: { focusKey: "confirm-deny" } }, "Deny with this comment"));
  const deny = h("button", {
    type: "button", disabled: needsOther, dataset: { focusKey: "deny" },
    "aria-describedby": needsOther ? `${id}-why` : null,
    "aria-expanded": "false",
    onclick: () => { form.hidden = false; deny.setAttribute("aria-expanded", "true"); comment.focus(); },
  }, "Deny");
  box.append(h("div", { class: "buttons" }, approve, deny), why, form, status);
  return box;
}

function settledWords(plan) {
  const last = plan.approvals[plan.approvals.length - 1];
  const words = {
    pending_approval: "Waiting for approval.",
    rejected: last && last.status === "denied" ? `Denied by ${last.decided_by}.` : "Rejected: nothing ran.",
    expired: "Expired: nobody approved in time; nothing ran.",
    cancelled: "Cancelled.",
  };
  return words[plan.state] || (plan.approvals.length ? "Approved." : "No approval needed.");
}
