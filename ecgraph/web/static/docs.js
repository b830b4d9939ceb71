// Starts the vendored Swagger UI on the node's own OpenAPI document (/api/docs); a file of its own
// because the node's Content-Security-Policy runs no inline script.
window.addEventListener("DOMContentLoaded", function () {
  window.ui = SwaggerUIBundle({
    url: document.body.dataset.openapi,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,          // never send the document to an outside validator
    tryItOutEnabled: false,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
