"""Accesso: the only page before login.

Local accounts sign in with name and password (:func:`geo.access.auth.authenticate`: argon2id,
progressive delays per client address and per account). The form answers at every page's
address before a login (see ``dashboard.py``): after it the same address opens that page.
When ``.streamlit/secrets.toml`` configures an OpenID Connect provider (``[auth]``, see
``docs/AUTH.md``), a button starts Streamlit's ``st.login`` and the identity
that comes back is mapped to a Lanterna account by e-mail (:func:`geo.access.auth.user_for_identity`).
"""

from __future__ import annotations

import streamlit as st

from geo.access import auth
from geo.access.permissions import role_label
from pages.common import ENDED_KEY, ensure_routed, get_store, request_client, start_session


def _auth_section() -> dict:
    try:
        section = st.secrets.get("auth")
    except (FileNotFoundError, KeyError, AttributeError):
        return {}
    return dict(section) if section else {}


def _oidc_identity() -> dict | None:
    """The identity of an ``st.login`` that came back, or None."""
    try:
        if not st.user.is_logged_in:
            return None
        return {"email": st.user.get("email"), "email_verified": st.user.get("email_verified"),
                "name": st.user.get("name")}
    except (AttributeError, KeyError):
        return None


def oidc_block(store) -> None:
    """The provider button, and the mapping of an identity that came back from it."""
    section = _auth_section()
    providers = auth.oidc_providers(section)
    problems = auth.oidc_problems(section)
    if problems:
        st.warning("Accesso con il provider dell'ente non disponibile: configurazione [auth] incompleta ("
                   + "; ".join(problems) + ").", icon=":material/warning:")
    if not providers:
        return
    if not auth.oidc_available():
        st.warning("Accesso con il provider dell'ente configurato, ma il pacchetto Authlib non è installato "
                   "(pip install 'Authlib>=1.3.2').", icon=":material/warning:")
        return
    identity = _oidc_identity()
    if identity is not None:
        provider = st.session_state.get("_lanterna_provider")
        try:
            user = auth.user_for_identity(store, identity["email"], email_verified=identity["email_verified"],
                                          provider=provider)
        except auth.AuthError as exc:
            st.error(str(exc), icon=":material/error:")
            if st.button("Esci dal provider", key="oidc_logout"):
                st.logout()
            return
        start_session(user, method="oidc", provider=provider)
        st.rerun()
    for provider in providers:
        label = "Accedi con il provider dell'ente" + (f" ({provider})" if provider and len(providers) > 1 else "")
        if st.button(label, type="primary", icon=":material/badge:", key=f"oidc_{provider or 'default'}"):
            st.session_state["_lanterna_provider"] = provider
            if provider:
                st.login(provider)
            else:
                st.login()
    st.caption("oppure con un utente locale:")


def main() -> None:
    ensure_routed()
    store = get_store()
    st.title("Lanterna")
    st.caption("Patto per la sicurezza urbana · accesso riservato agli enti firmatari")
    ended = st.session_state.pop(ENDED_KEY, None)
    if ended:
        st.info(ended, icon=":material/info:")
    left, _ = st.columns([1.2, 1])
    with left:
        oidc_block(store)
        with st.form("login_form"):
            username = st.text_input("Nome utente", key="login_user", autocomplete="username")
            password = st.text_input("Password", type="password", key="login_password",
                                     autocomplete="current-password")
            submitted = st.form_submit_button("Accedi", type="primary", icon=":material/login:")
        if submitted:
            try:
                user = auth.authenticate(store, username, password, client=request_client())
            except auth.AuthError as exc:
                st.error(str(exc), icon=":material/lock:")
            else:
                start_session(user, method="password")
                st.session_state.pop("login_password", None)
                st.rerun()
        if store.count_users() == 0:
            st.warning("Nessun utente configurato. Crearne uno dalla riga di comando: "
                       "`python -m geo users add NOME --ruolo prefettura`.", icon=":material/person_add:")
    if store.get_meta("demo") == "true":
        accounts = auth.demo_accounts(store.comuni())
        st.info(
            "**Database dimostrativo.** Utenti di prova, tutti con la password "
            f"`{auth.DEMO_PASSWORD}` (solo per la demo; mai su dati reali):\n\n"
            + "\n".join(f"- `{a.username}` – {role_label(a.role)}"
                        + (f" ({a.display_name.split(' – ')[0]}, {', '.join(a.comuni)})" if a.comuni else "")
                        for a in accounts),
            icon=":material/science:",
        )


main()
