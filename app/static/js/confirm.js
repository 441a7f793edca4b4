// Asks before a form whose effect cannot be taken back is sent: <form data-confirm="…">.
// Without JavaScript the form is sent as it is (the server checks everything either way).
document.addEventListener('submit', (event) => {
  const question = event.target.dataset?.confirm
  if (question && !window.confirm(question)) event.preventDefault()
})
