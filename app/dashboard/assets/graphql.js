// The public GraphQL API, over fetch (queries) and a WebSocket (subscriptions,
// graphql-transport-ws). The API key goes in a header and in connection_init,
// never in a URL.

export class GraphQLError extends Error {
  constructor(errors) {
    super(errors.map((e) => e.message).join("; "));
    this.errors = errors;
    this.code = errors[0] && errors[0].extensions ? errors[0].extensions.code : undefined;
  }
}

export async function query(apiKey, text, variables = {}) {
  return queryAs(`Bearer ${apiKey}`, text, variables);
}

// The same with any Authorization header (a reviewer link: "ReviewLink <token>").
export async function queryAs(authorization, text, variables = {}) {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: authorization },
    body: JSON.stringify({ query: text, variables }),
  });
  let body;
  try {
    body = await response.json();
  } catch {
    throw new GraphQLError([{ message: `HTTP ${response.status}` }]);
  }
  if (body.errors && body.errors.length) {
    throw new GraphQLError(body.errors);
  }
  return body.data;
}

// A subscription that reconnects (with backoff) until closed.
export class Subscription {
  constructor(apiKey, text, variables, { onEvent, onState }) {
    this.apiKey = apiKey;
    this.text = text;
    this.variables = variables;
    this.onEvent = onEvent;
    this.onState = onState;
    this.closed = false;
    this.delay = 1000;
    this.connect();
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/graphql`, "graphql-transport-ws");
    this.socket = socket;
    this.onState("connecting");
    socket.addEventListener("open", () => {
      socket.send(
        JSON.stringify({ type: "connection_init", payload: { Authorization: `Bearer ${this.apiKey}` } }),
      );
    });
    socket.addEventListener("message", (message) => {
      let data;
      try {
        data = JSON.parse(message.data);
      } catch {
        return;
      }
      if (data.type === "connection_ack") {
        this.delay = 1000;
        socket.send(
          JSON.stringify({ id: "1", type: "subscribe", payload: { query: this.text, variables: this.variables } }),
        );
        this.onState("on");
      } else if (data.type === "ping") {
        socket.send(JSON.stringify({ type: "pong" }));
      } else if (data.type === "next" && data.payload && data.payload.data) {
        this.onEvent(data.payload.data);
      } else if (data.type === "error") {
        this.onState("error");
      }
    });
    socket.addEventListener("close", (event) => {
      if (this.closed) return;
      if (event.code === 4403) {
        this.onState("refused");
        return;
      }
      this.onState("off");
      setTimeout(() => this.closed || this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 30000);
    });
  }

  close() {
    this.closed = true;
    if (this.socket && this.socket.readyState <= 1) this.socket.close(1000);
  }
}
