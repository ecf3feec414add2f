"""Campaigns: one survey version sent to an audience by e-mail, at the counter (QR codes) or
through the API; the send and reminder sweeps; opt-outs; the campaign page's numbers.

Everything callers need is importable from here: `from qms.surveys.campaigns import send_due`.
"""

from qms.surveys.campaigns.audience import (  # noqa: F401
    AudienceRejected,
    AudienceResult,
    Target,
    add_audience_csv,
    add_audience_filter,
    invitation_by_token,
    invite_targets,
    opt_out,
    opt_out_customer,
)
from qms.surveys.campaigns.counter import (  # noqa: F401
    create_counter_links,
    live_links,
    printed_links,
    revoke_counter_link,
)
from qms.surveys.campaigns.lifecycle import (  # noqa: F401
    CampaignStats,
    campaign_stats,
    close_campaign,
    create_campaign,
    edit_campaign,
    invitation_counts,
    list_campaigns,
    published_versions,
    start_campaign,
    status_label,
    suppression_counts,
)
from qms.surveys.campaigns.links import (  # noqa: F401
    counter_url,
    opt_out_url,
    personal_url,
)
from qms.surveys.campaigns.rules import (  # noqa: F401
    REASONS,
    CampaignError,
    CampaignStatus,
    Suppressed,
    is_open,
    link_expiry,
)
from qms.surveys.campaigns.sending import record_bounce, send_due, send_reminders  # noqa: F401
from qms.surveys.campaigns.transactional import Issued, create_invitation  # noqa: F401
