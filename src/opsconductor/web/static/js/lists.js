// History, audit and inventory: filtered listings drawn as tables. History follows the feed.

import { api } from "./api.js";
import { h, clear, when, stateBadge, announce } from "./dom.js";

const STATES = ["", "pending_approval", "approved", "queued", "running", "succeeded", "failed",
  "partially_succeeded", "cancelled", "timed_out", "rejected", "expired", "interrupted"];

/** A filter form whose fields are [name, label, kind, options]; calls `onChange(values)`. */
function filterForm(label, fields, onChange) {
  const inputs = {};
  const form = h("form", { class: "filter-form", role: "search", "aria-label": label,
    onsubmit: (e) => { e.preventDefault(); onChange(values()); } },
  fields.map(([name, text, kind, options]) => {
    const id = `f-${label.replace(/\W/g, "")}-${name}`;
    const input = kind === "select"
      ? h("select", { id, name }, options.map((o) => h("option", { value: o }, o ? o.replaceAll("_", " ") : "any")))
      : h("input", { id, name, type: kind || "text", autocomplete: "off" });
    input.addEventListener("change", () => onChange(values()));
    inputs[name] = input;
    return h("span", { class: "field" }, h("label", { for: id }, text), input);
  }),
  h("button", { type: "submit" }, "Apply"));
  function values() {
    return Object.fromEntries(Object.entries(inputs).map(([k, el]) => [k, el.value.trim()]));
  }
  return form;
}

function table(caption, columns, rows) {
  return h("div", { class: "table-wrap" }, h("table", { class: "data" },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows)));
}

export function showHistory(view, app) {
  const out = h("div", {});
  let current = {};
  let timer = null;
  const form = filterForm("Filter executions", [
    ["status", "Status", "select", STATES],
    ["requester", "Requester"],
    ["since", "Since", "datetime-local"],
    ["q", "Text", "search"],
  ], (values) => { current = values; load(); });
  view.append(h("h1", { tabindex: -1 }, "History"), form, out);
  async function load() {
    const since = current.since ? new Date(current.since).toISOString() : undefined;
    try {
      const page = await api("/executions", { query: { status: current.status, requester: current.requester, since, q: current.q, limit: 100 } });
      clear(out).append(table(`${page.count} execution${page.count === 1 ? "" : "s"}${page.count > page.data.length ? ` (newest ${page.data.length} shown)` : ""}`,
        ["Request", "State", "Level", "Requester", "Created", "Finished"],
        page.data.map((e) => h("tr", { dataset: { execution: e.id, state: e.state } },
          h("th", { scope: "row" }, h("a", { href: `#/runs/${encodeURIComponent(e.id)}` }, e.request_text)),
          h("td", {}, stateBadge(e.state)), h("td", {}, String(e.approval_level)),
          h("td", {}, e.requested_by), h("td", {}, when(e.created_at)), h("td", {}, when(e.completed_at))))));
    } catch (error) {
      clear(out).append(h("p", { class: "error", role: "alert" }, error.message));
    }
  }
  const stop = app.onFeed(() => { clearTimeout(timer); timer = setTimeout(load, 300); });
  load();
  return () => { stop(); clearTimeout(timer); };
}

export function showAudit(view) {
  const out = h("div", {});
  const verdict = h("p", { class: "verdict", role: "status" });
  let current = {};
  const form = filterForm("Filter the audit trail", [
    ["entity", "Entity id (or its start)"],
    ["entity_type", "Entity type", "select", ["", "execution", "approval", "step", "asset", "user", "token", "credential", "auth"]],
    ["actor", "Actor"],
  ], (values) => { current = values; load(); });
  const verify = h("button", { type: "button", onclick: async () => {
    verdict.textContent = "Checking the chain…";
    try {
      const r = await api("/audit/verify");
      verdict.dataset.ok = String(r.ok);
      verdict.textContent = r.ok
        ? `The chain is intact: ${r.checked} events verified.`
        : `The chain is BROKEN at event ${r.first_bad_id}: ${r.problem} (${r.checked} verified before it).`;
      announce(verdict.textContent);
    } catch (error) {
      verdict.textContent = error.message;
    }
  } }, "Verify");
  view.append(h("h1", { tabindex: -1 }, "Audit"), form, h("div", { class: "verify" }, verify, verdict), out);
  async function load() {
    try {
      const page = await api("/audit", { query: { ...current, limit: 200 } });
      clear(out).append(table(`${page.count} event${page.count === 1 ? "" : "s"}${page.count > page.data.length ? ` (newest ${page.data.length} shown)` : ""}`,
        ["#", "When", "Actor", "Entity", "Action", "State", "Reason"],
        page.data.map((e) => h("tr", {},
          h("th", { scope: "row" }, String(e.id)), h("td", {}, when(e.at)), h("td", {}, e.actor),
          h("td", {}, `${e.entity_type} `, h("code", {}, e.entity_id)), h("td", {}, e.action),
          h("td", {}, [e.from_state, e.to_state].filter(Boolean).join(" → ")), h("td", {}, e.reason || "")))));
    } catch (error) {
      clear(out).append(h("p", { class: "error", role: "alert" }, error.message));
    }
  }
  load();
}

export function showInventory(view) {
  const out = h("div", {});
  let current = {};
  const form = filterForm("Filter assets", [
    ["q", "Name or hostname", "search"],
    ["os_type", "OS", "select", ["", "linux", "windows", "unix", "macos", "network", "other"]],
    ["device_type", "Device", "select", ["", "server", "workstation", "switch", "router", "firewall", "storage", "other"]],
    ["environment", "Environment"],
    ["location", "Location"],
    ["service", "Service"],
  ], (values) => { current = values; load(); });
  view.append(h("h1", { tabindex: -1 }, "Inventory"), form, out);
  async function load() {
    try {
      const page = await api("/assets", { query: { ...current, limit: 200 } });
      clear(out).append(table(`${page.count} asset${page.count === 1 ? "" : "s"}${page.count > page.data.length ? ` (first ${page.data.length} shown)` : ""}`,
        ["Name", "Hostname", "IP", "OS", "Device", "Environment", "Location", "Services"],
        page.data.map((a) => h("tr", {},
          h("th", { scope: "row" }, h("a", { href: `#/inventory/${encodeURIComponent(a.name)}` }, a.name)),
          h("td", {}, a.hostname || ""), h("td", {}, a.ip_address || ""), h("td", {}, `${a.os_type}${a.os_version ? ` ${a.os_version}` : ""}`),
          h("td", {}, a.device_type), h("td", {}, a.environment || ""), h("td", {}, a.location || ""),
          h("td", {}, (a.services || []).join(", "))))));
    } catch (error) {
      clear(out).append(h("p", { class: "error", role: "alert" }, error.message));
    }
  }
  load();
}

export function showAsset(view, app, name) {
  const out = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  view.append(h("h1", { tabindex: -1 }, name), h("p", {}, h("a", { href: "#/inventory" }, "← Inventory")), out);
  api(`/assets/${encodeURIComponent(name)}`).then((a) => {
    const fields = [["Hostname", a.hostname], ["IP address", a.ip_address], ["OS", `${a.os_type} ${a.os_version || ""}`],
      ["Device", a.device_type], ["Environment", a.environment], ["Location", a.location], ["Tags", (a.tags || []).join(", ")],
      ["Declared services", (a.services || []).join(", ")], ["Owner", a.owner], ["Criticality", a.criticality],
      ["Connection", `${a.connection.protocol}${a.connection.port ? `:${a.connection.port}` : ""}${a.connection.username ? ` as ${a.connection.username}` : ""}`],
      ["Description", a.description]];
    clear(out).append(h("dl", { class: "facts" }, fields.filter(([, v]) => v).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
      facts(a));
  }).catch((error) => clear(out).append(h("p", { class: "error", role: "alert" }, error.message)));
}

function facts(a) {
  if (!a.facts) return h("p", { class: "muted" }, "No facts collected yet (ask “discover facts” or run `opsconductor assets discover`).");
  const f = a.facts;
  const rows = [["OS", [f.os_name, f.os_version].filter(Boolean).join(" ")], ["Kernel", f.kernel],
    ["CPUs", f.cpu_count], ["Memory", f.memory_mb ? `${f.memory_mb} MB` : null]];
  return h("section", {}, h("h2", {}, "Facts"), h("p", { class: "muted" }, `Collected ${when(a.facts_collected_at)}`),
    h("dl", { class: "facts" }, rows.filter(([, v]) => v).map(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))])),
    Array.isArray(f.disks) && f.disks.length ? table("Disks", Object.keys(f.disks[0]), f.disks.map((d) => h("tr", {}, Object.values(d).map((v) => h("td", {}, String(v ?? "")))))) : null,
    Array.isArray(f.services) && f.services.length ? h("section", {}, h("h3", {}, "Running services"), h("ul", { class: "services" }, f.services.map((s) => h("li", {}, typeof s === "string" ? s : JSON.stringify(s))))) : null);
}
