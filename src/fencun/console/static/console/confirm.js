// Forms with data-confirm ask before they submit (cancel, delete): one click should not undo work.
document.addEventListener("submit", (event) => {
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
