// GraphiQL for Plaudit, started without inline script (the page's CSP allows none).
// React, ReactDOM and GraphiQL are the UMD builds loaded before this file.
/* global React, ReactDOM, GraphiQL */
"use strict";

(function () {
  const endpoint = window.location.origin + window.location.pathname;
  const socketUrl = endpoint.replace(/^http/, "ws");

  // Browsers cannot set headers on a WebSocket: Plaudit reads the API key from the
  // graphql-transport-ws connection_init payload instead. The socket opens when the
  // first subscription starts (and again after the last one ends), so it carries the
  // headers of the request that opened it: the ones typed in the Headers editor.
  let latestHeaders = {};
  const inner = GraphiQL.createFetcher({
    url: endpoint,
    subscriptionUrl: socketUrl,
    wsConnectionParams: () => latestHeaders,
  });
  function fetcher(params, options) {
    latestHeaders = (options && options.headers) || {};
    return inner(params, options);
  }

  const DEFAULT_QUERY = `# Plaudit's GraphQL API. Put your API key in the Headers tab below:
#   {"Authorization": "Bearer plaudit_..."}
# then run a query with Ctrl-Enter (or the play button).

query Project {
  project { id name }
}
`;

  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher,
      defaultQuery: DEFAULT_QUERY,
      defaultEditorToolsVisibility: "headers",
      isHeadersEditorEnabled: true,
      // Kept with the rest of the editor's state for this tab only, like the
      // dashboard's key: closing the tab forgets the API key.
      shouldPersistHeaders: true,
      storage: window.sessionStorage,
      inputValueDeprecation: true,
    }),
  );
})();
