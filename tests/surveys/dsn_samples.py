"""Bounces as mail servers write them, for the bounce tests: fill in with sample(name, ...).

Modelled on real ones: Postfix's RFC 3464 report (original headers as text/rfc822-headers),
Exchange Online's (CRLF, human part as multipart/alternative, the whole original as
message/rfc822), Postfix's delay warning (4.x.x), Exim's plain-text bounce (X-Failed-Recipients,
the original quoted in the text), and a customer's reply that quotes the invitation.
"""

from __future__ import annotations

from string import Template

POSTFIX = """\
Return-Path: <>
Delivered-To: survey-bounces@bank.test
Received: by mx1.bank.test (Postfix)
	id 4Xk2Z70QH1z9sWq; Mon,  2 Mar 2026 09:00:07 +0800 (CST)
Date: Mon,  2 Mar 2026 09:00:07 +0800 (CST)
From: MAILER-DAEMON@mx1.bank.test (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: survey@bank.test
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="4Xk2Z70QH1z9sWq.1772413207/mx1.bank.test"
Content-Transfer-Encoding: 8bit
Message-Id: <20260302010007.4Xk2Z70QH1z9sWq@mx1.bank.test>

This is a MIME-encapsulated message.

--4Xk2Z70QH1z9sWq.1772413207/mx1.bank.test
Content-Description: Notification
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

This is the mail system at host mx1.bank.test.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

<$rcpt>: host mx.example.test[192.0.2.25] said: 550 5.1.1
    <$rcpt>: Recipient address rejected: User unknown in virtual mailbox
    table (in reply to RCPT TO command)

--4Xk2Z70QH1z9sWq.1772413207/mx1.bank.test
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx1.bank.test
X-Postfix-Queue-ID: 4Xk2Z70QH1z9sWq
X-Postfix-Sender: rfc822; survey@bank.test
Arrival-Date: Mon,  2 Mar 2026 09:00:05 +0800 (CST)

Final-Recipient: rfc822; $rcpt
Original-Recipient: rfc822;$rcpt
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.test
Diagnostic-Code: smtp; 550 5.1.1 <$rcpt>: Recipient address rejected: User
    unknown in virtual mailbox table

--4Xk2Z70QH1z9sWq.1772413207/mx1.bank.test
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers
Content-Transfer-Encoding: 8bit

Return-Path: <survey@bank.test>
Received: from qms.bank.test (qms.bank.test [10.1.2.3])
	by mx1.bank.test (Postfix) with ESMTP id 4Xk2Z70QH1z9sWq
	for <$rcpt>; Mon,  2 Mar 2026 09:00:05 +0800 (CST)
From: survey@bank.test
To: $rcpt
Subject: =?utf-8?b?6K+36K+E5Lu35oKo5Zyo5aSW5rup5pSv6KGM55qE5pyN5Yqh?=
Date: Mon, 02 Mar 2026 01:00:05 -0000
Message-ID: $message_id
List-Unsubscribe: <http://localhost/s/abc/opt-out>

--4Xk2Z70QH1z9sWq.1772413207/mx1.bank.test--
"""

EXCHANGE = """\
Received: from DM6PR11MB4321.namprd11.prod.outlook.com (2603:10b6:5:1::1) by
 DM6PR11MB1234.namprd11.prod.outlook.com with mapi id 15.20.8534.20; Mon, 2 Mar
 2026 01:00:09 +0000
MIME-Version: 1.0
From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@contoso.com>
To: <survey@bank.test>
Date: Mon, 2 Mar 2026 01:00:09 +0000
Content-Type: multipart/report; report-type=delivery-status;
	boundary="a8f0b0c4-4e0f-4a39-9d1e-3a5b7c2e9f10"
X-MS-PublicTrafficType: Email
X-MS-Exchange-Message-Is-Ndr:
Content-Language: en-US
Message-ID: <5d2e0a51-ffd4-4a63-8b4c-2c0d7b1f7a11@DM6PR11MB1234.namprd11.prod.outlook.com>
Subject: Undeliverable: =?utf-8?b?6K+36K+E5Lu35oKo5Zyo5aSW5rup5pSv6KGM55qE5pyN5Yqh?=
Auto-Submitted: auto-replied

--a8f0b0c4-4e0f-4a39-9d1e-3a5b7c2e9f10
Content-Type: multipart/alternative; differences=Content-Type;
	boundary="2b1f9e7c-60a4-4d0b-8a53-95e0f3c8d6b2"

--2b1f9e7c-60a4-4d0b-8a53-95e0f3c8d6b2
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

Your message to $rcpt couldn't be delivered.
$rcpt wasn't found at contoso.com.

Diagnostic information for administrators:

Generating server: DM6PR11MB1234.namprd11.prod.outlook.com

$rcpt
Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient no=
t found by SMTP address lookup'

--2b1f9e7c-60a4-4d0b-8a53-95e0f3c8d6b2
Content-Type: text/html; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

<html><body><p>Your message to $rcpt couldn't be delivered.</p></body></html>

--2b1f9e7c-60a4-4d0b-8a53-95e0f3c8d6b2--

--a8f0b0c4-4e0f-4a39-9d1e-3a5b7c2e9f10
Content-Type: message/delivery-status

Reporting-MTA: dns;DM6PR11MB1234.namprd11.prod.outlook.com
Received-From-MTA: dns;mx1.bank.test
Arrival-Date: Mon, 2 Mar 2026 01:00:08 +0000

Final-Recipient: rfc822;$rcpt
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup
X-Display-Name: Wang Wei

--a8f0b0c4-4e0f-4a39-9d1e-3a5b7c2e9f10
Content-Type: message/rfc822

Received: from mx1.bank.test (203.0.113.5) by
 DM6PR11MB4321.mail.protection.outlook.com (10.167.8.1) with Microsoft SMTP
 Server; Mon, 2 Mar 2026 01:00:08 +0000
From: survey@bank.test
To: $rcpt
Subject: =?utf-8?b?6K+36K+E5Lu35oKo5Zyo5aSW5rup5pSv6KGM55qE5pyN5Yqh?=
Date: Mon, 02 Mar 2026 01:00:05 -0000
Message-ID: $message_id
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: base64

5oKo5aW977yM6K+354K55Ye76ZO+5o6l6K+E5Lu35oiR5Lus55qE5pyN5Yqh44CC

--a8f0b0c4-4e0f-4a39-9d1e-3a5b7c2e9f10--
""".replace("\n", "\r\n")

DELAYED = """\
Return-Path: <>
Date: Tue,  3 Mar 2026 09:10:02 +0800 (CST)
From: MAILER-DAEMON@mx1.bank.test (Mail Delivery System)
Subject: Delayed Mail (still being retried)
To: survey@bank.test
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="7Yq1M02JpZz4xLk.1772500202/mx1.bank.test"
Message-Id: <20260303011002.7Yq1M02JpZz4xLk@mx1.bank.test>

--7Yq1M02JpZz4xLk.1772500202/mx1.bank.test
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx1.bank.test.

####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################

Your message could not be delivered for more than 24 hour(s).
It will be retried until it is 5 day(s) old.

<$rcpt>: connect to mx.example.test[192.0.2.25]:25: Connection timed out

--7Yq1M02JpZz4xLk.1772500202/mx1.bank.test
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx1.bank.test
X-Postfix-Queue-ID: 7Yq1M02JpZz4xLk
X-Postfix-Sender: rfc822; survey@bank.test
Arrival-Date: Mon,  2 Mar 2026 09:00:05 +0800 (CST)

Final-Recipient: rfc822; $rcpt
Original-Recipient: rfc822;$rcpt
Action: delayed
Status: 4.4.1
Diagnostic-Code: X-Postfix; connect to mx.example.test[192.0.2.25]:25: Connection
    timed out
Will-Retry-Until: Sat,  7 Mar 2026 09:00:05 +0800 (CST)

--7Yq1M02JpZz4xLk.1772500202/mx1.bank.test
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: survey@bank.test
To: $rcpt
Message-ID: $message_id

--7Yq1M02JpZz4xLk.1772500202/mx1.bank.test--
"""

EXIM = """\
Return-path: <>
Envelope-to: survey@bank.test
X-Failed-Recipients: $rcpt
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@relay.example.test>
To: survey@bank.test
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1vQx2A-000abc-7Z@relay.example.test>
Date: Mon, 02 Mar 2026 01:00:09 +0000

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  $rcpt
    host mx.example.test [192.0.2.25]
    SMTP error from remote mail server after RCPT TO:<$rcpt>:
    550 5.2.1 <$rcpt>: mailbox disabled

------ This is a copy of the message, including all the headers. ------

Return-path: <survey@bank.test>
From: survey@bank.test
To: $rcpt
Subject: =?utf-8?b?6K+36K+E5Lu35oKo5Zyo5aSW5rup5pSv6KGM55qE5pyN5Yqh?=
Message-ID: $message_id

5oKo5aW977yM6K+354K55Ye76ZO+5o6l6K+E5Lu35oiR5Lus55qE5pyN5Yqh44CC
"""

REPLY = """\
From: =?utf-8?b?546L5Lyf?= <$rcpt>
To: survey@bank.test
Subject: =?utf-8?b?UmU6IOivt+ivhOS7t+aCqOWcqOWklua7qeaUr+ihjOeahOacjeWKoQ==?=
In-Reply-To: $message_id
References: $message_id
Message-ID: <CAF3x9w2kP0@mail.example.test>
Date: Mon, 02 Mar 2026 10:12:44 +0800
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

不用了，谢谢。The mailbox is fine: 550 5.1.1 means nothing here.

> Message-ID: $message_id
"""

SAMPLES = {"postfix": POSTFIX, "exchange": EXCHANGE, "delayed": DELAYED, "exim": EXIM,
           "reply": REPLY}


def sample(name: str, message_id: str, rcpt: str) -> bytes:
    return Template(SAMPLES[name]).substitute(message_id=message_id, rcpt=rcpt).encode("utf-8")
