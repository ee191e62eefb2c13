// On a phone the navigation folds behind one button instead of wrapping onto many lines.
document.querySelectorAll(".menu-toggle").forEach((button) => {
  button.addEventListener("click", () => {
    const open = button.closest(".top").classList.toggle("open");
    button.setAttribute("aria-expanded", String(open));
  });
});
