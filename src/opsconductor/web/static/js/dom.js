// Building the page from data: every text goes in as a text node, never as HTML, so nothing a
// host prints or a user types can become markup or script.

/** An element: h("td", {class: "x", onclick: fn}, "text", child, [more]). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      el.className = value;
    } else if (key === "style") {
      Object.assign(el.style, value); // CSSOM, which the page's CSP allows (attributes it does not)
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key in el && typeof value !== "string") {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** Say something to screen readers without moving focus. */
export function announce(text) {
  const el = document.getElementById("announcer");
  el.textContent = "";
  setTimeout(() => { el.textContent = text; }, 30);
}

export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

export function seconds(value) {
  if (value === null || value === undefined) return "";
  return value < 10 ? `${value.toFixed(1)} s` : `${Math.round(value)} s`;
}

/** A bar with its value in words beside it (the bar is decoration; the words are read). */
export function bar(label, percent, text) {
  const shown = Math.max(0, Math.min(100, percent));
  const level = shown >= 90 ? "high" : shown >= 75 ? "warn" : "ok";
  return h("div", { class: "bar-row" },
    h("span", { class: "bar-label" }, label),
    h("span", { class: `bar ${level}`, role: "presentation" },
      h("span", { class: "fill", style: { width: `${shown}%` } })),
    h("span", { class: "bar-text" }, text));
}

export function stateBadge(state) {
  const words = String(state || "unknown").replaceAll("_", " ");
  return h("span", { class: `state state-${state}`, dataset: { state } }, words);
}

/** Text with every occurrence of `needle` (ignoring case) marked. */
export function marked(text, needle) {
  if (!needle) return [text];
  const parts = [];
  const low = text.toLowerCase();
  const n = needle.toLowerCase();
  let at = 0;
  for (let i = low.indexOf(n); i !== -1; i = low.indexOf(n, at)) {
    parts.push(text.slice(at, i), h("mark", {}, text.slice(i, i + n.length)));
    at = i + n.length;
  }
  parts.push(text.slice(at));
  return parts;
}
