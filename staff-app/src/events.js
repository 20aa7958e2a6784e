// The arrivals channel: AWS AppSync Events over a WebSocket (the documented protocol; no SDK needed). The staff
// member's ID token authorises the connection and the subscription. The socket reconnects by itself with a
// jittered back-off; after every (re)connection `onConnected` lets the app fetch what it missed meanwhile.
import { idToken } from "./auth.js";

const SUBPROTOCOL = "aws-appsync-event-ws";

function base64Url(value) {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export class EventChannel {
  constructor({ realtimeEndpoint, httpHost, channel, onEvent, onStatus, onConnected }) {
    Object.assign(this, { realtimeEndpoint, httpHost, channel, onEvent, onStatus, onConnected });
    this.attempt = 0;
    this.stopped = false;
    this.socket = null;
    this.timers = [];
  }

  start() {
    this.stopped = false;
    this.connect();
    window.addEventListener("online", this.onOnline = () => this.retryNow());
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.onOnline);
    this.clearTimers();
    if (this.socket) this.socket.close(1000, "signed out");
    this.socket = null;
  }

  clearTimers() {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers = [];
  }

  retryNow() {
    if (!this.socket && !this.stopped) {
      this.clearTimers();
      this.connect();
    }
  }

  async connect() {
    const token = await idToken();
    if (this.stopped) return;
    if (!token) return this.onStatus("signed-out");
    const authorization = { Authorization: token.getJwtToken(), host: this.httpHost };
    let socket;
    try {
      socket = new WebSocket(this.realtimeEndpoint, [SUBPROTOCOL, `header-${base64Url(authorization)}`]);
    } catch {
      return this.scheduleReconnect();
    }
    this.socket = socket;
    let keepAliveTimer = null;
    const expectKeepAlive = (ms) => {
      clearTimeout(keepAliveTimer);
      // No keep-alive within the advertised timeout: the connection is dead even if the socket says otherwise.
      keepAliveTimer = setTimeout(() => socket.close(4000, "keep-alive timeout"), ms);
    };
    socket.onopen = () => socket.send(JSON.stringify({ type: "connection_init" }));
    socket.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (data.type === "connection_ack") {
        this.timeoutMs = data.connectionTimeoutMs || 300000;
        expectKeepAlive(this.timeoutMs);
        socket.send(JSON.stringify({ type: "subscribe", id: crypto.randomUUID(), channel: this.channel, authorization }));
      } else if (data.type === "ka") {
        expectKeepAlive(this.timeoutMs);
      } else if (data.type === "subscribe_success") {
        this.attempt = 0;
        this.onStatus("online");
        this.onConnected();
      } else if (data.type === "subscribe_error") {
        socket.close(4001, "subscribe refused");
      } else if (data.type === "data") {
        for (const event of [].concat(data.event)) {
          try {
            this.onEvent(typeof event === "string" ? JSON.parse(event) : event);
          } catch {
            // a malformed event is dropped; the next fetch of open visits corrects the screen
          }
        }
      }
    };
    socket.onclose = () => {
      clearTimeout(keepAliveTimer);
      if (this.socket === socket) this.socket = null;
      if (!this.stopped) {
        this.onStatus("offline");
        this.scheduleReconnect();
      }
    };
  }

  scheduleReconnect() {
    // Full jitter, 0.5 s up to 30 s: a shop's tablets coming back together do not all knock at once.
    const ceiling = Math.min(30000, 500 * 2 ** this.attempt++);
    this.timers.push(setTimeout(() => this.connect(), 250 + Math.random() * ceiling));
  }
}
