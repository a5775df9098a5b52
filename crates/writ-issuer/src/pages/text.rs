//! Every string a person reads on Writ's pages, in one place: the templates name fields of
//! [`Text`], never literal words, so a translation (or a vendor's wording) is one more value of
//! it.

/// The words of the pages.
#[derive(Debug)]
pub struct Text {
    pub lang: &'static str,
    pub product: &'static str,
    pub skip_to_content: &'static str,
    // Login.
    pub login_title: &'static str,
    pub login_lead: &'static str,
    pub org_label: &'static str,
    pub org_hint: &'static str,
    pub email_label: &'static str,
    pub password_label: &'static str,
    pub log_in: &'static str,
    pub log_out: &'static str,
    // Invitation.
    pub invitation_title: &'static str,
    pub invitation_lead: &'static str,
    pub new_password_label: &'static str,
    pub password_rules: &'static str,
    pub confirm_password_label: &'static str,
    pub set_password: &'static str,
    pub passwords_differ: &'static str,
    // Account.
    pub account_title: &'static str,
    pub signed_in_as: &'static str,
    pub organization: &'static str,
    pub change_password_title: &'static str,
    pub current_password_label: &'static str,
    pub change_password: &'static str,
    pub password_changed: &'static str,
    // Errors.
    pub error_title: &'static str,
    pub form_expired: &'static str,
    pub not_found: &'static str,
    pub try_again: &'static str,
}

/// English, the default.
pub static EN: Text = Text {
    lang: "en",
    product: "Writ",
    skip_to_content: "Skip to content",
    login_title: "Log in",
    login_lead: "Log in with your organization's account.",
    org_label: "Organization",
    org_hint: "Your organization's short name, as your administrator gave it to you.",
    email_label: "Email",
    password_label: "Password",
    log_in: "Log in",
    log_out: "Log out",
    invitation_title: "Set your password",
    invitation_lead: "Choose a password for",
    new_password_label: "New password",
    password_rules: "At least 12 characters. A few unrelated words make a good one.",
    confirm_password_label: "Repeat the new password",
    set_password: "Set password and log in",
    passwords_differ: "The two passwords are not the same.",
    account_title: "Your account",
    signed_in_as: "Logged in as",
    organization: "Organization",
    change_password_title: "Change your password",
    current_password_label: "Current password",
    change_password: "Change password",
    password_changed: "Your password was changed. Your other sessions have ended.",
    error_title: "Something went wrong",
    form_expired: "This form has expired. Go back, reload the page and try again.",
    not_found: "There is no such page.",
    try_again: "Start again",
};
