// Chat: ask in plain words; each answer is drawn from its data (an asset table, a count with
// its filter, per-host bars), a clarification's options are buttons, a plan that needs
// approval is a plan card, and a run follows live. One conversation id per chat, so follow-ups
// ("and on web-02?", "restart it") read in context.

import { api } from "./api.js";
import { h, clear, bar } from "./dom.js";
import { planCard } from "./plancard.js";
import { runView } from "./run.js";

const ENDED = new Set(["succeeded", "failed", "partially_succeeded", "cancelled", "timed_out", "rejected", "expired"]);

/** The chat view; `state` keeps the conversation while the user visits other views. */
export function showChat(view, app, state) {
  if (!state.conversationId) state.conversationId = `web-${crypto.randomUUID()}`;
  if (!state.turns) state.turns = [];
  const stops = [];
  const log = h("div", { class: "conversation", role: "log", "aria-label": "Conversation", "aria-live": "polite" });
  const box = h("textarea", { id: "ask", rows: 2, autocomplete: "off", spellcheck: "false",
    disabled: !app.can("ask"), "aria-describedby": "ask-hint" });
  const send = h("button", { type: "submit", disabled: !app.can("ask") }, "Send");
  const form = h("form", { class: "ask-form", onsubmit: (e) => { e.preventDefault(); submit(); } },
    h("label", { for: "ask" }, "Ask"), box, send,
    h("p", { id: "ask-hint", class: "hint" }, app.can("ask")
      ? "Enter sends; Shift+Enter starts a new line."
      : `Your role (${app.me.role}) may read but not ask.`));
  box.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
  });
  view.append(h("h1", { tabindex: -1 }, "Chat"), log, form);
  for (const turn of state.turns) drawTurn(turn);

  async function submit(text = box.value.trim()) {
    if (!text || send.disabled) return;
    box.value = "";
    const turn = { text, answer: null, error: null };
    state.turns.push(turn);
    const drawn = drawTurn(turn);
    send.disabled = true;
    try {
      turn.answer = await api("/requests", { method: "POST", body: { text, conversation_id: state.conversationId } });
      if (turn.answer.conversation_id) state.conversationId = turn.answer.conversation_id;
    } catch (error) {
      turn.error = error.message;
    }
    send.disabled = false;
    drawAnswer(drawn, turn);
    box.focus();
  }

  function drawTurn(turn) {
    const you = h("div", { class: "turn you" }, h("span", { class: "who" }, "You"), h("p", {}, turn.text));
    const reply = h("div", { class: "turn reply", "aria-busy": "true" }, h("span", { class: "who" }, "OpsConductor"), h("p", { class: "muted" }, "Working on it…"));
    log.append(you, reply);
    if (turn.answer || turn.error) drawAnswer(reply, turn);
    reply.scrollIntoView({ block: "nearest" });
    return reply;
  }

  function drawAnswer(reply, turn) {
    clear(reply).append(h("span", { class: "who" }, "OpsConductor"));
    reply.removeAttribute("aria-busy");
    if (turn.error) {
      reply.append(h("p", { class: "error" }, turn.error));
      return;
    }
    const a = turn.answer;
    reply.dataset.type = a.response.type;
    if (a.decision && a.decision.read_as) reply.append(h("p", { class: "read-as" }, a.decision.read_as));
    reply.append(h("p", { class: "message" }, a.response.message));
    const clar = a.decision && a.decision.clarification;
    if (clar && clar.options && clar.options.length) {
      reply.append(h("div", { class: "options", role: "group", "aria-label": "Options" },
        clar.options.map((o) => h("button", { type: "button", disabled: !app.can("ask"), onclick: () => submit(o) }, o))));
    }
    const result = a.execution && a.execution.result;
    if (result && result.step_results) reply.append(...renderData(result));
    const execution = a.execution;
    if (!execution) return;
    if (a.approval.required && a.approval.status === "pending") {
      stops.push(planCard(reply, app, execution.id, {
        onDecided: (verb, answer) => {
          if (verb !== "approve") return;
          // An immediate plan's approval answers with its result: drawn like any answer.
          const done = answer && answer.execution && answer.execution.result;
          if (done && done.step_results) reply.append(...renderData(done));
          follow(reply, execution.id);
        },
      }));
      stops.push(app.onFeed((event) => {
        if (event.execution_id === execution.id && ["approved", "queued", "running"].includes(event.data.state)) follow(reply, execution.id);
      }));
    } else if (execution.status && !ENDED.has(execution.status)) {
      follow(reply, execution.id);
    }
  }

  function follow(reply, executionId) {
    if (reply.querySelector(".run")) return;
    stops.push(runView(reply, app, executionId, { compact: true, heading: 3 }));
  }

  box.focus();
  return () => { for (const stop of stops) stop(); };
}

/** Answers drawn from their data; what has no drawing of its own shows its output. */
export function renderData(result) {
  const drawn = [];
  const hosts = { disk: [], memory: [], load: [] };
  for (const r of result.step_results) {
    const d = r.data;
    if (d && Array.isArray(d.assets)) drawn.push(assetTable(d.assets));
    else if (d && typeof d.total === "number" && d.filter) drawn.push(count(d));
    else if (Array.isArray(d) && d.length && d[0].mount !== undefined) hosts.disk.push([r.target, d]);
    else if (d && d.used_percent !== undefined && d.total_bytes !== undefined) hosts.memory.push([r.target, d]);
    else if (d && d.load1 !== undefined) hosts.load.push([r.target, d]);
    else if (r.output && result.step_results.length <= 5) {
      drawn.push(h("details", { class: "raw" }, h("summary", {}, `Output of ${r.target || r.tool}`), h("pre", {}, r.output)));
    }
  }
  if (hosts.disk.length) drawn.push(diskBars(hosts.disk));
  if (hosts.memory.length) drawn.push(memoryBars(hosts.memory));
  if (hosts.load.length) drawn.push(loadBars(hosts.load));
  return drawn;
}

const ASSET_COLUMNS = ["name", "hostname", "ip_address", "os_type", "device_type", "environment", "location"];

function assetTable(assets) {
  return h("div", { class: "table-wrap" }, h("table", { class: "data" },
    h("caption", {}, `${assets.length} asset${assets.length === 1 ? "" : "s"}`),
    h("thead", {}, h("tr", {}, ASSET_COLUMNS.map((c) => h("th", { scope: "col" }, c.replace("_", " "))))),
    h("tbody", {}, assets.map((a) => h("tr", {}, ASSET_COLUMNS.map((c, i) => i === 0
      ? h("th", { scope: "row" }, h("a", { href: `#/inventory/${encodeURIComponent(a.name)}` }, a.name))
      : h("td", {}, a[c] ?? "")))))));
}

function count(d) {
  const filters = Object.entries(d.filter).filter(([, v]) => v !== null && v !== "");
  return h("figure", { class: "count" },
    h("span", { class: "count-number" }, String(d.total)),
    h("figcaption", {}, filters.length ? "matching " : "assets in the inventory",
      filters.map(([k, v]) => h("span", { class: "chip" }, `${k.replace("_", " ")}: ${v}`))));
}

function gb(bytes) { return `${(bytes / 1e9).toFixed(1)} GB`; }

function diskBars(rows) {
  return h("section", { class: "bars" }, h("h3", {}, "Disk use"), rows.map(([host, disks]) =>
    h("div", { class: "host-bars" }, h("h4", {}, host),
      disks.filter((x) => x.size_bytes > 1e8).map((x) =>
        bar(x.mount, x.use_percent, `${x.use_percent}% used, ${gb(x.available_bytes)} free of ${gb(x.size_bytes)}`)))));
}

function memoryBars(rows) {
  return h("section", { class: "bars" }, h("h3", {}, "Memory"), rows.map(([host, m]) =>
    bar(host, m.used_percent, `${m.used_percent}% used, ${gb(m.available_bytes)} available of ${gb(m.total_bytes)}`)));
}

function loadBars(rows) {
  const top = Math.max(1, ...rows.map(([, l]) => l.load1));
  return h("section", { class: "bars" }, h("h3", {}, "Load (1 / 5 / 15 min)"), rows.map(([host, l]) =>
    bar(host, (100 * l.load1) / top, `${l.load1} / ${l.load5} / ${l.load15}${l.total_processes ? `, ${l.total_processes} processes` : ""}`)));
}


