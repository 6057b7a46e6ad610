"""The registry of provider adapters, by slug."""

from __future__ import annotations

from collections.abc import Mapping

from dlrhub.providers.africastalking import provider as africastalking
from dlrhub.providers.aliyun import provider as aliyun
from dlrhub.providers.aws_sns import provider as aws_sns
from dlrhub.providers.baidu import provider as baidu
from dlrhub.providers.base import Provider
from dlrhub.providers.bird import provider as bird
from dlrhub.providers.chuanglan import provider as chuanglan
from dlrhub.providers.cloopen import provider as cloopen
from dlrhub.providers.huawei import provider as huawei
from dlrhub.providers.infobip import provider as infobip
from dlrhub.providers.jasmin import provider as jasmin
from dlrhub.providers.kannel import provider as kannel
from dlrhub.providers.montnets import provider as montnets
from dlrhub.providers.netease import provider as netease
from dlrhub.providers.nxcloud import provider as nxcloud
from dlrhub.providers.plivo import provider as plivo
from dlrhub.providers.qiniu import provider as qiniu
from dlrhub.providers.sinch import provider as sinch
from dlrhub.providers.submail import provider as submail
from dlrhub.providers.telnyx import provider as telnyx
from dlrhub.providers.tencent import provider as tencent
from dlrhub.providers.twilio import provider as twilio
from dlrhub.providers.ucloud import provider as ucloud
from dlrhub.providers.volcengine import provider as volcengine
from dlrhub.providers.vonage import provider as vonage
from dlrhub.providers.vonage_messages import provider as vonage_messages
from dlrhub.providers.yunpian import provider as yunpian

# Adding a provider: one module in this package, one line here (see the README).
PROVIDERS: Mapping[str, Provider] = {
    p.name: p for p in (tencent, ucloud, aliyun, cloopen, huawei, netease, nxcloud,
                        twilio, telnyx, plivo, vonage, vonage_messages, bird,
                        kannel, jasmin, yunpian, chuanglan, montnets, infobip,
                        africastalking, sinch, aws_sns, baidu, qiniu, submail, volcengine)
}


def get_provider(name: str) -> Provider | None:
    """Return the adapter for a provider slug, or ``None``."""
    return PROVIDERS.get(name)
