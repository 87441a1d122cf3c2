// The upload page: send the chosen photos one by one, shrinking big ones in the browser first (canvas, longest side
// 2048 px, JPEG), and show each photo's outcome as the server words it. Without this script the form posts as is.
(function () {
  var form = document.getElementById("upload");
  if (!form || !window.fetch || !window.FormData) return;
  var results = document.getElementById("results");
  var count = document.getElementById("count");
  var SHRINK_OVER = 4 * 1024 * 1024, SIDE = 2048;
  var words = {ok: "已收", flagged: "已收·待核对", refused: "没收下"};

  function id() {
    if (window.crypto && crypto.getRandomValues) {
      var a = new Uint32Array(4); crypto.getRandomValues(a);
      return Array.prototype.map.call(a, function (n) { return n.toString(16); }).join("");
    }
    return String(Date.now()) + Math.random().toString(16).slice(2);
  }

  function shrink(file) {
    // Small photos go as they are (their EXIF time is kept for the date check); big ones are redrawn smaller.
    return new Promise(function (resolve) {
      if (file.size <= SHRINK_OVER || !/^image\/(jpeg|png|webp)$/.test(file.type)) return resolve(file);
      var url = URL.createObjectURL(file), img = new Image();
      img.onload = function () {
        var scale = Math.min(1, SIDE / Math.max(img.naturalWidth, img.naturalHeight));
        var c = document.createElement("canvas");
        c.width = Math.round(img.naturalWidth * scale); c.height = Math.round(img.naturalHeight * scale);
        c.getContext("2d").drawImage(img, 0, 0, c.width, c.height);
        URL.revokeObjectURL(url);
        c.toBlob(function (blob) { resolve(blob || file); }, "image/jpeg", 0.85);
      };
      img.onerror = function () { URL.revokeObjectURL(url); resolve(file); };
      img.src = url;
    });
  }

  function show(name, status, text) {
    var li = document.createElement("li");
    li.className = "row " + status;
    var s = document.createElement("span"); s.className = "status"; s.textContent = words[status] || "出错";
    var d = document.createElement("div");
    var n = document.createElement("div"); n.className = "muted"; n.textContent = name;
    d.appendChild(n); d.appendChild(document.createTextNode(text));
    li.appendChild(s); li.appendChild(d); results.appendChild(li);
  }

  function setCount(counted, required) {
    var rest = required - counted;
    count.innerHTML = "";
    count.appendChild(document.createTextNode("已收到有效照片 "));
    var b = document.createElement("strong"); b.textContent = counted; count.appendChild(b);
    count.appendChild(document.createTextNode(" 张" + (rest > 0 ? "，还差 " + rest + " 张。" : "，已经够了。")));
  }

  var limitMb = Number(form.getAttribute("data-limit")) || 25;

  async function send(file) {
    var blob = await shrink(file);
    if (blob.size > limitMb * 1024 * 1024) {  // refused before a byte goes over a slow network
      show(file.name, "refused", "照片太大（最多 " + limitMb + " MB），没有上传。请换一张，或截图后再交。");
      return;
    }
    var body = new FormData();
    body.append("id", id());
    body.append("photo", blob, file.name);
    try {
      var r = await fetch(form.action || location.pathname, {method: "POST", body: body, credentials: "omit"});
      var j = await r.json();
      show(file.name, j.status, j.text);
      if (j.counted !== undefined) setCount(j.counted, j.required);
    } catch (e) {
      show(file.name, "refused", "没有传上去（网络不好？）。请稍后再选这张照片上交一次。");
    }
  }

  form.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var input = form.querySelector("input[type=file]"), button = form.querySelector("button");
    var files = Array.prototype.slice.call(input.files || []);
    button.disabled = true; button.textContent = "正在上交…";
    for (var i = 0; i < files.length; i++) { await send(files[i]); }
    button.disabled = false; button.textContent = "上交"; input.value = "";
    results.setAttribute("data-done", String(results.children.length));
  });
  form.action = location.pathname.replace(/\/$/, "") + "/photo";
})();
