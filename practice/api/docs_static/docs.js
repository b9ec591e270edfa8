// Starts Swagger UI on /api/docs. A file of its own, so the page needs no inline script
// (its CSP has no 'unsafe-inline').
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    // Same-origin requests carry the session cookie; writes with it need the csrf key
    // (Authorize), a bearer token needs nothing else.
    withCredentials: true,
    persistAuthorization: false,
    // No validator badge: it would ask a third-party server about our document.
    validatorUrl: null,
  });
});
