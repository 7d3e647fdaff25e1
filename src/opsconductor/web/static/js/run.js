// The live run view: per step and per host status in the engine's own step states, streaming
// output per host, filters, search, cancel and resolve; for level 3 the next step's approval
// inside the run. It loads what is stored (GET the result), then follows the execution's
// WebSocket from its first event: a late page replays what it missed, then follows.
// Only the rows in sight are in the document, so a fan-out to hundreds of hosts stays light.

import { api, followExecution } from "./api.js";
import { h, clear, seconds, stateBadge, marked, announce } from "./dom.js";
import { planCard } from "./plancard.js";

const ROW_PX = 34;
const OVERSCAN = 8;
const STEP_STATES = ["pending", "running", "succeeded", "failed", "skipped", "cancelled", "timed_out", "interrupted"];
const ENDED = new Set(["succeeded", "failed", "partially_succeeded", "cancelled", "timed_out", "rejected", "expired"]);
const MAX_OUTPUT_CHARS = 1024 * 1024;
let serial = 0;

/** The page at #/runs/ID. */
export function showRun(view, app, executionId) {
  view.append(h("h1", { tabindex: -1 }, "Run"), h("p", {}, h("a", { href: "#/history" }, "← History")));
  return runView(view, app, executionId, { heading: 2 });
}

/** A run view of `executionId` in `container`; returns a function that stops it. */
export function runView(container, app, executionId, { heading = 3, compact = false } = {}) {
  const run = new Run(container, app, executionId, heading, compact);
  run.start();
  return () => run.stop();
}

class Run {
  constructor(container, app, executionId, heading, compact) {
    this.app = app;
    this.id = executionId;
    this.uid = `run-${++serial}`;
    this.units = new Map(); // "step\u0000target" → unit
    this.order = [];
    this.steps = new Map();
    this.state = null;
    this.requester = null;
    this.level = 0;
    this.filter = "all";
    this.query = "";
    this.selected = null;
    this.scheduled = false;
    this.stops = [];
    this.compact = compact;
    this.firstRowAt = null;
    this.build(container, heading);
  }

  build(container, heading) {
    const u = this.uid;
    this.stateEl = h("span", { class: "run-state", id: `${u}-state` });
    this.summaryEl = h("p", { class: "run-summary", role: "status", "aria-live": "polite" });
    this.stepsEl = h("ol", { class: "run-steps" });
    this.actionsEl = h("div", { class: "run-actions" });
    this.approvalEl = h("div", { class: "run-approval" });
    const filters = h("fieldset", { class: "filters" }, h("legend", {}, "Show hosts"),
      ["all", "failed", "changed"].map((f) => h("label", {},
        h("input", { type: "radio", name: `${u}-filter`, value: f, checked: f === "all",
          onchange: () => { this.filter = f; this.render(); } }), ` ${f}`)));
    this.searchEl = h("input", { type: "search", id: `${u}-search`, oninput: () => { this.query = this.searchEl.value; this.render(); } });
    this.rowsEl = h("div", { class: "rows" });
    this.viewport = h("div", {
      class: "viewport", role: "table", "aria-label": "Hosts", tabindex: 0, "aria-rowcount": 0,
      onscroll: () => this.render(),
    }, h("div", { role: "rowgroup", class: "head" },
      h("div", { role: "row", class: "row head-row", "aria-rowindex": 1 },
        ["Host", "Step", "Status", "Exit", "Time"].map((c) => h("span", { role: "columnheader" }, c)))),
    this.rowsEl);
    this.outputTitle = h("h4", { id: `${u}-out-title` }, "Output");
    this.outputEl = h("pre", { class: "output", role: "log", "aria-labelledby": `${u}-out-title`, tabindex: 0 });
    this.root = h("section", { class: "card run", "aria-labelledby": `${u}-title`, dataset: { execution: this.id } },
      h(`h${heading}`, { id: `${u}-title` }, "Run ", h("code", {}, this.id.slice(0, 8)), " ", this.stateEl),
      this.summaryEl, this.actionsEl, this.approvalEl,
      h("details", { class: "run-steps-box", open: true }, h("summary", {}, "Steps"), this.stepsEl),
      h("div", { class: "run-tools" }, filters,
        h("label", { for: `${u}-search` }, "Search output "), this.searchEl),
      this.viewport,
      h("section", { class: "output-box" }, this.outputTitle, this.outputEl),
      this.compact ? h("p", {}, h("a", { href: `#/runs/${encodeURIComponent(this.id)}` }, "Open the full run view")) : null);
    container.append(this.root);
  }

  async start() {
    try {
      const [plan, result] = await Promise.all([
        api(`/executions/${encodeURIComponent(this.id)}/plan`),
        api(`/executions/${encodeURIComponent(this.id)}`),
      ]);
      this.requester = plan.requested_by;
      this.level = plan.approval_level;
      for (const step of plan.steps) {
        this.steps.set(step.id, step);
        for (const target of step.targets.length ? step.targets : [null]) this.unit(step.id, target);
      }
      this.apply(result);
    } catch (error) {
      this.summaryEl.textContent = `The run could not be read: ${error.message}`;
      return;
    }
    this.follow();
    const observer = new ResizeObserver(() => this.render());
    observer.observe(this.viewport);
    this.stops.push(() => observer.disconnect());
    this.render();
  }

  /** Follow the execution's events (again, after a resolve: its stream ended at `interrupted`). */
  follow() {
    if (this.unfollow) this.unfollow();
    this.unfollow = followExecution(this.id, (event) => this.onEvent(event), { onEnd: () => this.reload() });
  }

  stop() {
    for (const stop of this.stops) stop();
    this.stops = [];
    if (this.unfollow) this.unfollow();
    this.unfollow = null;
    if (this.stopCard) this.stopCard();
  }

  unit(stepId, target) {
    const key = `${stepId}\u0000${target ?? ""}`;
    let unit = this.units.get(key);
    if (!unit) {
      unit = { key, stepId, target, state: "pending", output: "", exit: null, duration: null, error: null, summary: null };
      this.units.set(key, unit);
      this.order.push(unit);
    }
    return unit;
  }

  apply(result) {
    this.state = result.status;
    for (const r of result.step_results) {
      const unit = this.unit(r.step_id, r.target);
      unit.state = r.status;
      unit.exit = r.exit_code;
      unit.duration = r.duration_seconds;
      unit.error = r.error;
      if (r.output && r.output.length >= unit.output.length) unit.output = r.output;
    }
    this.result = result;
  }

  async reload() {
    try {
      this.apply(await api(`/executions/${encodeURIComponent(this.id)}`));
      this.schedule();
    } catch { /* the stream's state stands */ }
  }

  onEvent(event) {
    const d = event.data || {};
    if (event.type === "step_started" || event.type === "step_complete") {
      const unit = this.unit(d.step_id, d.target);
      unit.state = d.state;
      if (d.exit_code !== undefined) unit.exit = d.exit_code;
      if (d.summary) unit.summary = d.summary;
      if (event.type === "step_started") unit.startedAt = event.at;
      else if (unit.startedAt) unit.duration = (new Date(event.at) - new Date(unit.startedAt)) / 1000;
    } else if (event.type === "step_output") {
      const unit = this.unit(d.step_id, d.target);
      if (unit.output.length < MAX_OUTPUT_CHARS) unit.output += d.chunk;
    } else if (event.type === "progress" || event.type === "complete") {
      const before = this.state;
      this.state = d.state;
      if (event.type === "complete") {
        this.message = d.output || d.error || "";
        if (before !== d.state) announce(`Run ${d.state.replaceAll("_", " ")}.`);
        this.reload();
      }
    } else if (event.type === "approval_required") {
      this.approvalDue = true;
    }
    this.schedule();
  }

  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => { this.scheduled = false; this.render(); });
  }

  visible() {
    const q = this.query.toLowerCase();
    return this.order.filter((u) => {
      if (this.filter === "failed" && !["failed", "timed_out", "interrupted", "cancelled"].includes(u.state)) return false;
      if (this.filter === "changed" && !(u.state === "succeeded" && this.steps.get(u.stepId) && !this.steps.get(u.stepId).read_only)) return false;
      if (q && !(u.output.toLowerCase().includes(q) || (u.target || "").toLowerCase().includes(q))) return false;
      return true;
    });
  }

  render() {
    this.renderHeader();
    this.renderSteps();
    this.renderRows();
    this.renderOutput();
  }

  renderHeader() {
    const state = this.state || "unknown";
    clear(this.stateEl).append(stateBadge(state));
    this.root.dataset.state = state;
    const counts = {};
    for (const u of this.order) counts[u.state] = (counts[u.state] || 0) + 1;
    const hosts = new Set(this.order.map((u) => u.target).filter(Boolean)).size;
    const words = STEP_STATES.filter((s) => counts[s]).map((s) => `${counts[s]} ${s.replaceAll("_", " ")}`).join(", ");
    const done = ENDED.has(state) ? `Finished: ${state.replaceAll("_", " ")}. ` : "";
    const text = `${done}${hosts} host${hosts === 1 ? "" : "s"}, ${this.order.length} unit${this.order.length === 1 ? "" : "s"}: ${words}.`;
    if (this.summaryEl.textContent !== text) this.summaryEl.textContent = text;
    this.root.dataset.done = ENDED.has(state) ? "true" : "false";
    this.renderActions(state);
  }

  renderActions(state) {
    const key = `${state}|${this.approvalDue}`;
    if (this.actionsKey === key) return;
    this.actionsKey = key;
    clear(this.actionsEl);
    const me = this.app.me;
    const ended = ENDED.has(state);
    const mayCancel = this.app.can("cancel_any") || (this.app.can("cancel_own") && this.requester === me.name);
    if (!ended && mayCancel) {
      this.actionsEl.append(h("button", { type: "button", class: "danger", onclick: (e) => this.cancel(e.target) }, "Cancel"));
    }
    const mayResolve = this.app.can("approve") ? !(this.level >= 2 && this.requester === me.name)
      : this.level === 1 && this.requester === me.name && this.app.can("confirm_own");
    if (state === "interrupted" && mayResolve) {
      this.actionsEl.append(h("span", {}, "Interrupted while a change was in flight. Resolve: "),
        ...["retry", "skip", "abort"].map((d) => h("button", { type: "button", onclick: (e) => this.resolve(d, e.target) },
          d[0].toUpperCase() + d.slice(1))));
    } else if (state === "interrupted") {
      this.actionsEl.append(h("span", {}, "Interrupted: waiting for an approver to resolve it."));
    }
    this.actionStatus = h("span", { class: "action-status", role: "status" });
    this.actionsEl.append(this.actionStatus);
    if (this.message && ended) this.actionsEl.append(h("p", { class: "run-message" }, this.message));
    clear(this.approvalEl);
    if (this.level === 3 && state === "pending_approval" && (this.approvalDue || this.result)) {
      this.stopCard?.();
      this.approvalEl.append(h("p", {}, "The next step waits for its own approval:"));
      this.stopCard = planCard(this.approvalEl, this.app, this.id, { headingLevel: 4 });
    }
  }

  async cancel(button) {
    button.disabled = true;
    this.actionStatus.textContent = "Cancelling…";
    try {
      this.apply(await api(`/executions/${encodeURIComponent(this.id)}/cancel`, { method: "POST", body: { reason: "cancelled from the web page" } }));
      this.actionStatus.textContent = "";
    } catch (error) {
      this.actionStatus.textContent = error.message;
      button.disabled = false;
    }
    this.schedule();
  }

  async resolve(decision, button) {
    button.disabled = true;
    try {
      this.apply(await api(`/executions/${encodeURIComponent(this.id)}/resolve`, { method: "POST", body: { decision } }));
      if (decision !== "abort") this.follow(); // retry and skip queue the run for a worker
    } catch (error) {
      this.actionStatus.textContent = error.message;
      button.disabled = false;
    }
    this.schedule();
  }

  renderSteps() {
    clear(this.stepsEl);
    for (const [id, step] of this.steps) {
      const counts = {};
      for (const u of this.order) if (u.stepId === id) counts[u.state] = (counts[u.state] || 0) + 1;
      const words = STEP_STATES.filter((s) => counts[s]).map((s) => `${counts[s]} ${s.replaceAll("_", " ")}`).join(", ");
      this.stepsEl.append(h("li", { dataset: { step: id } }, h("strong", {}, step.description || id), ` — ${words}`));
    }
  }

  renderRows() {
    const rows = this.visible();
    this.viewport.setAttribute("aria-rowcount", rows.length + 1);
    const height = this.viewport.clientHeight || 400;
    const first = Math.max(0, Math.floor(this.viewport.scrollTop / ROW_PX) - OVERSCAN);
    const last = Math.min(rows.length, Math.ceil((this.viewport.scrollTop + height) / ROW_PX) + OVERSCAN);
    this.rowsEl.style.height = `${rows.length * ROW_PX}px`;
    const focusedKey = this.rowsEl.contains(document.activeElement) ? document.activeElement.dataset.key : null;
    clear(this.rowsEl);
    for (let i = first; i < last; i++) {
      const u = rows[i];
      const select = h("button", { type: "button", class: "link", dataset: { key: u.key },
        "aria-pressed": this.selected === u.key ? "true" : "false",
        onclick: () => { this.selected = u.key; this.render(); this.outputEl.focus(); } }, u.target || "(inventory)");
      const row = h("div", { role: "row", class: `row state-row-${u.state}`, "aria-rowindex": i + 2, dataset: { target: u.target || "", state: u.state },
        style: { top: `${i * ROW_PX}px` } },
      h("span", { role: "cell" }, select),
      h("span", { role: "cell" }, u.stepId),
      h("span", { role: "cell" }, stateBadge(u.state)),
      h("span", { role: "cell" }, u.exit === null || u.exit === undefined ? "" : String(u.exit)),
      h("span", { role: "cell" }, seconds(u.duration)));
      this.rowsEl.append(row);
      if (focusedKey === u.key) select.focus();
    }
    if (rows.length && this.firstRowAt === null) {
      this.firstRowAt = performance.now();
      this.root.dataset.firstRowAt = String(this.firstRowAt);
    }
    if (this.root.dataset.done === "true" && !this.root.dataset.doneAt) this.root.dataset.doneAt = String(performance.now());
  }

  renderOutput() {
    const unit = this.units.get(this.selected) || this.visible()[0];
    if (!unit) {
      this.outputTitle.textContent = "Output";
      clear(this.outputEl);
      return;
    }
    const title = `Output of ${unit.target || "the inventory"} (${unit.stepId})`;
    if (this.outputTitle.textContent !== title) this.outputTitle.textContent = title;
    const text = unit.output || unit.error || unit.summary || (unit.state === "pending" ? "(not started)" : "(no output)");
    const key = `${unit.key}|${text.length}|${this.query}`;
    if (this.outputKey === key) return;
    this.outputKey = key;
    const atEnd = this.outputEl.scrollTop + this.outputEl.clientHeight >= this.outputEl.scrollHeight - 4;
    clear(this.outputEl).append(...marked(text, this.query));
    if (atEnd) this.outputEl.scrollTop = this.outputEl.scrollHeight;
  }
}


