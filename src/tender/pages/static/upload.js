// The bid upload page: sends each chosen file to the resumable upload API in parts, with a
// progress bar, and goes on from where the bytes stopped when the connection breaks (it asks
// the platform how much arrived, after a growing pause). When every file is submitted it comes
// back to the page with their receipts, which the platform shows in plain words. A refusal
// (after the deadline, over the quota...) is shown as the platform words it. Without this
// script the form stays hidden and the page says how else to submit.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  var received = document.getElementById("received");
  if (received) received.focus();
  if (!form || !window.fetch) return;
  form.hidden = false;
  document.getElementById("needs-script").hidden = true;

  var words = form.dataset;
  var base = "/api/tenders/" + words.tender + "/uploads";
  var partSize = Number(words.partSize);
  var picker = document.getElementById("files");
  var envelope = document.getElementById("envelope");
  var button = document.getElementById("send");
  var area = document.getElementById("progress-area");
  var bar = document.getElementById("progress");
  var status = document.getElementById("progress-text");
  var problem = document.getElementById("upload-problem");
  var language = document.documentElement.lang || "en";
  var MOST_FAILURES = 8; // about four minutes of pauses in all
  var announced = -1;

  function say(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  function bytes(count) {
    return count.toLocaleString(language);
  }

  // The platform's refusal, in its own words (what, why, what to do).
  function Refused(body) {
    this.body = body || {};
  }

  function request(method, address, body, type) {
    var headers = { "X-CSRF-Token": words.csrf, Accept: "application/json" };
    if (type) headers["Content-Type"] = type;
    return fetch(address, {
      method: method,
      headers: headers,
      body: body,
      credentials: "same-origin",
    });
  }

  async function answer(response) {
    var body = null;
    try {
      body = await response.json();
    } catch (unreadable) {
      body = null;
    }
    if (!response.ok) throw new Refused(body);
    return body;
  }

  function pause(seconds) {
    return new Promise(function (resume) {
      window.setTimeout(resume, seconds * 1000);
    });
  }

  function show(file, number, count, sent, before, total) {
    var percent = total ? Math.floor(((before + sent) * 100) / total) : 100;
    bar.value = percent;
    // Announced in steps of a tenth, so a screen reader is not talked over at every part.
    if (Math.floor(percent / 10) !== announced || sent === file.size) {
      announced = Math.floor(percent / 10);
      status.textContent = say(words.sending, {
        file: file.name,
        number: number,
        count: count,
        percent: percent + "%",
        sent: bytes(before + sent),
        total: bytes(total),
      });
    }
  }

  // A failed request: wait longer each time, then ask how much of the file arrived.
  async function recover(file, upload, failures) {
    if (failures > MOST_FAILURES) {
      throw new Refused({
        what: words.failedWhat,
        why: say(words.failedWhy, { file: file.name }),
        what_to_do: words.failedTodo,
      });
    }
    var seconds = Math.min(30, Math.pow(2, failures - 1));
    status.textContent = say(words.retrying, { file: file.name, seconds: seconds });
    await pause(seconds);
    try {
      return (await answer(await request("GET", upload))).received;
    } catch (error) {
      if (error instanceof Refused) throw error;
      return null; // still no connection: the next attempt asks again
    }
  }

  async function sendFile(file, number, count, before, total) {
    var started = await answer(
      await request(
        "POST",
        base,
        JSON.stringify({
          file_name: file.name,
          size: file.size,
          envelope: envelope ? envelope.value : null,
        }),
        "application/json"
      )
    );
    var upload = base + "/" + started.upload_id;
    var offset = 0;
    var failures = 0;
    while (offset < file.size) {
      show(file, number, count, offset, before, total);
      try {
        var response = await request(
          "PUT",
          upload + "?offset=" + offset,
          file.slice(offset, Math.min(offset + partSize, file.size)),
          "application/octet-stream"
        );
        var body;
        try {
          body = await answer(response);
        } catch (refusal) {
          // Another offset than ours (a part cut off earlier arrived in part): go on from the
          // platform's.
          var where = refusal.body && refusal.body.details;
          if (!where || typeof where.received !== "number" || refusal.body.error !== "conflict") {
            throw refusal;
          }
          body = where;
        }
        // No progress (another part of it still arriving): pause and ask, as for a break.
        if (body.received === offset) throw new Error("no progress");
        failures = 0;
        offset = body.received;
      } catch (error) {
        if (error instanceof Refused) throw error;
        failures += 1;
        var at = await recover(file, upload, failures);
        if (at !== null) offset = at;
      }
    }
    show(file, number, count, file.size, before, total);
    status.textContent = say(words.submitting, { file: file.name });
    for (failures = 0; ; ) {
      try {
        return (await answer(await request("POST", upload + "/complete"))).receipt_id;
      } catch (error) {
        if (error instanceof Refused) throw error;
        failures += 1;
        try {
          await recover(file, upload, failures);
        } catch (gone) {
          // The upload is gone: the lost answer was its receipt, which the page lists.
          if (gone instanceof Refused && gone.body.error === "not_found") return null;
          throw gone;
        }
      }
    }
  }

  function showProblem(body) {
    area.hidden = true; // the notice says what became of the file
    status.textContent = "";
    document.getElementById("problem-what").textContent = body.what || words.failedWhat;
    document.getElementById("problem-why").textContent = body.why || "";
    document.getElementById("problem-todo").textContent = body.what_to_do || words.failedTodo;
    problem.hidden = false;
    problem.focus();
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    var files = Array.prototype.slice.call(picker.files);
    if (!files.length) return;
    // A detached signature (.p7s) goes after the file it signs, so that it can be pre-checked.
    function signature(file) {
      return /\.p7s$/i.test(file.name) ? 1 : 0;
    }
    files.sort(function (a, b) {
      return signature(a) - signature(b);
    });
    var total = files.reduce(function (sum, file) {
      return sum + file.size;
    }, 0);
    button.disabled = true;
    problem.hidden = true;
    area.hidden = false;
    announced = -1;
    var receipts = [];
    var before = 0;
    try {
      for (var index = 0; index < files.length; index += 1) {
        var receipt = await sendFile(files[index], index + 1, files.length, before, total);
        if (receipt) receipts.push("receipt=" + encodeURIComponent(receipt));
        before += files[index].size;
      }
      window.location.assign(window.location.pathname + "?" + receipts.join("&") + "#received");
    } catch (error) {
      showProblem(error instanceof Refused ? error.body || {} : {});
      button.disabled = false;
    }
  });
})();
