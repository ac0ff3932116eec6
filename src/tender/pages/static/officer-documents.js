// Uploads a tender document from the officer's tender page: the file is streamed to the
// documents API with the session's CSRF token in the X-CSRF-Token header (a plain form
// cannot set it), then the page is shown again with the new document and its SHA-256.
"use strict";
(function () {
  const form = document.getElementById("upload");
  if (!form) return;
  const status = document.getElementById("upload-status");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = form.querySelector("input[type=file]").files[0];
    if (!file) return;
    status.textContent = form.dataset.sending;
    const address = "/api/tenders/" + form.dataset.tender + "/documents/" + encodeURIComponent(file.name);
    try {
      const answer = await fetch(address, {
        method: "PUT",
        body: file,
        headers: { "X-CSRF-Token": form.dataset.csrf, "Content-Type": "application/octet-stream" },
        credentials: "same-origin",
      });
      if (answer.ok) {
        window.location.reload();
        return;
      }
      const refusal = await answer.json().catch(() => ({}));
      status.textContent = [form.dataset.failed, refusal.what, refusal.why, refusal.what_to_do]
        .filter(Boolean).join(" ");
    } catch (problem) {
      status.textContent = form.dataset.failed + " " + String(problem);
    }
  });
})();
