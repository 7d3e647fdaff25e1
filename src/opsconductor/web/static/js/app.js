// The page: sign in, the navigation, the one feed of all executions, and the views by address
// (#/chat, #/approvals, #/runs/ID, #/history, #/audit, #/inventory, #/inventory/NAME).

import { api, followFeed, session } from "./api.js";
import { clear, h } from "./dom.js";
import { showChat } from "./chat.js";
import { showInbox, refreshPendingCount } from "./inbox.js";
import { showRun } from "./run.js";
import { showHistory, showAudit, showInventory, showAsset } from "./lists.js";

/** What the page knows of the signed-in user, and what listens to the feed. */
export const app = {
  me: null,
  listeners: new Set(),
  can(permission) { return Boolean(this.me && this.me.permissions.includes(permission)); },
  onFeed(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  },
};

let stopFeed = null;
let leaveView = null;
const chatState = {}; // the conversation outlives a visit to another view

async function signIn(token) {
  session.token = token;
  try {
    app.me = await api("/me");
  } catch (error) {
    session.token = null;
    app.me = null;
    throw error;
  }
  document.getElementById("signin").hidden = true;
  document.getElementById("nav").hidden = false;
  document.getElementById("who").hidden = false;
  document.getElementById("who-name").textContent = `${app.me.name} (${app.me.role})`;
  document.getElementById("view").hidden = false;
  stopFeed = followFeed((event) => {
    for (const listener of app.listeners) listener(event);
  });
  app.onFeed(() => refreshPendingCount(app));
  refreshPendingCount(app);
  route();
}

function signOut() {
  session.token = null;
  app.me = null;
  if (stopFeed) stopFeed();
  stopFeed = null;
  app.listeners.clear();
  if (leaveView) leaveView();
  leaveView = null;
  for (const key of Object.keys(chatState)) delete chatState[key];
  clear(document.getElementById("view")).hidden = true;
  document.getElementById("nav").hidden = true;
  document.getElementById("who").hidden = true;
  document.getElementById("signin").hidden = false;
  document.getElementById("token").value = "";
  document.getElementById("token").focus();
}

function route() {
  if (!app.me) return;
  const view = document.getElementById("view");
  if (leaveView) leaveView();
  leaveView = null;
  clear(view);
  const [name, ...rest] = (location.hash.replace(/^#\/?/, "") || "chat").split("/");
  const arg = rest.map(decodeURIComponent).join("/");
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.view === (name === "runs" ? "history" : name)) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const views = {
    chat: () => showChat(view, app, chatState),
    approvals: () => showInbox(view, app),
    runs: () => showRun(view, app, arg),
    history: () => showHistory(view, app),
    audit: () => showAudit(view, app),
    inventory: () => (arg ? showAsset(view, app, arg) : showInventory(view, app)),
  };
  const show = views[name] || (() => view.append(h("p", {}, "No such page.")));
  leaveView = show() || null;
  const heading = view.querySelector("h1");
  if (heading && document.activeElement === document.body) heading.focus();
}

function start() {
  const form = document.getElementById("signin-form");
  const error = document.getElementById("signin-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const token = document.getElementById("token").value.trim();
    try {
      await signIn(token);
      document.getElementById("token").value = "";
    } catch (failure) {
      error.textContent = failure.status === 401 ? "That token was not accepted." : failure.message;
    }
  });
  document.getElementById("sign-out").addEventListener("click", signOut);
  window.addEventListener("signed-out", () => { if (app.me) signOut(); });
  window.addEventListener("hashchange", route);
  if (session.token) signIn(session.token).catch(() => signOut());
  else document.getElementById("token").focus();
}

start();
