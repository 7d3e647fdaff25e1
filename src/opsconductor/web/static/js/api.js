// The API as the page uses it. The token lives in this tab's session storage and travels only
// in the Authorization header; streams (which a browser cannot give headers) are opened with a
// one-use ticket made for them, so no token is ever put in a URL.

const KEY = "opsconductor.token";
const BASE = "/api/v1";

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

export const session = {
  get token() { return sessionStorage.getItem(KEY); },
  set token(value) {
    if (value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  },
};

/** Call the API; the parsed JSON body, or an ApiError carrying the API's own message. */
export async function api(path, { method = "GET", body, query } = {}) {
  const url = new URL(BASE + path, location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === "") continue;
    url.searchParams.set(key, value);
  }
  const headers = { Accept: "application/json" };
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store", credentials: "omit",
    });
  } catch {
    throw new ApiError(0, "The server does not answer.");
  }
  const text = await response.text();
  const data = text ? safeJson(text) : null;
  if (!response.ok) {
    const detail = data && typeof data.detail === "string" ? data.detail
      : data && Array.isArray(data.detail) ? data.detail.map((d) => d.msg).join("; ")
        : `${response.status} ${response.statusText}`;
    if (response.status === 401) window.dispatchEvent(new CustomEvent("signed-out"));
    throw new ApiError(response.status, detail);
  }
  return data;
}

function safeJson(text) {
  try { return JSON.parse(text); } catch { return null; }
}

async function ticket(executionId) {
  const body = executionId ? { execution_id: executionId } : undefined;
  const made = await api("/stream-tickets", { method: "POST", body });
  return made.ticket;
}

function socketUrl(path, params) {
  const url = new URL(BASE + path, location.origin);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url;
}

/**
 * Follow one execution over its WebSocket: every stored event from `after` on (a late page
 * replays what it missed), then live ones, until `complete`. Reconnects (with a new ticket)
 * after the last id seen if the connection drops early. Returns a function that stops it.
 */
export function followExecution(executionId, onEvent, { onEnd } = {}) {
  let last = 0;
  let stopped = false;
  let done = false;
  let socket = null;
  let attempts = 0;
  async function open() {
    if (stopped) return;
    let t;
    try {
      t = await ticket(executionId);
    } catch {
      return retry();
    }
    socket = new WebSocket(socketUrl(`/executions/${encodeURIComponent(executionId)}/ws`, { ticket: t, after: last }));
    socket.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.id) last = Math.max(last, event.id);
      if (event.type === "complete") done = true;
      onEvent(event);
    };
    socket.onclose = (close) => {
      socket = null;
      if (stopped) return;
      if (done || close.code === 1000 || close.code === 4404) {
        if (onEnd) onEnd(close.code);
        return;
      }
      retry();
    };
  }
  function retry() {
    attempts += 1;
    setTimeout(open, Math.min(5000, 300 * attempts));
  }
  open();
  return () => {
    stopped = true;
    if (socket) socket.close();
  };
}

/**
 * The feed of all executions (GET /feed as Server-Sent Events). The EventSource's own
 * reconnect would reuse a spent ticket, so on any error the page makes a new ticket and
 * reopens after the last id it saw: nothing is missed. Returns a function that stops it.
 */
export function followFeed(onEvent) {
  let source = null;
  let last = null;
  let stopped = false;
  async function open() {
    if (stopped) return;
    let t;
    try {
      t = await ticket(null);
    } catch {
      setTimeout(open, 2000);
      return;
    }
    const url = new URL(`${BASE}/feed`, location.origin);
    url.searchParams.set("ticket", t);
    if (last !== null) url.searchParams.set("after", last);
    source = new EventSource(url);
    const handle = (message) => {
      const event = JSON.parse(message.data);
      if (event.type === "ready") last = last ?? event.cursor;
      else if (event.id) last = Math.max(last ?? 0, event.id);
      onEvent(event);
    };
    // A server "error" event would share its name with a broken connection: the feed sends none.
    for (const type of ["ready", "progress", "approval_required", "complete"]) {
      source.addEventListener(type, handle);
    }
    source.onerror = () => {
      source.close();
      source = null;
      if (!stopped) setTimeout(open, 1000);
    };
  }
  open();
  return () => {
    stopped = true;
    if (source) source.close();
  };
}
