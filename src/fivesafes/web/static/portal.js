// The design system's scripts (the header menu, skip link focus). Every page works without them.
import { initAll } from "/assets/nhsuk-frontend.min.js";

document.body.classList.add("nhsuk-frontend-supported");
initAll();
