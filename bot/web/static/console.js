// 复制 buttons on the 代发 page: the message's text to the clipboard (a textarea fallback for old WeChat browsers).
document.querySelectorAll("button.copy").forEach(function (b) {
  b.addEventListener("click", function () {
    var text = b.getAttribute("data-copy") || "";
    function done() { b.textContent = "已复制"; }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, fallback);
    } else { fallback(); }
    function fallback() {
      var t = document.createElement("textarea");
      t.value = text; document.body.appendChild(t); t.select();
      try { document.execCommand("copy"); done(); } catch (e) { b.textContent = "请长按消息手动复制"; }
      document.body.removeChild(t);
    }
  });
});
