# eu-ai-act: Regulation (EU) 2024/1689, for comparison with the Chinese regimes.
package beian.regimes.eu_ai_act

import rego.v1

# Only while the Regulation is in force (data.in_force: the law of the as-of date).
in_scope if {
	input.eu_market
	not research_only
	"EU-AIA-2024" in data.in_force.instruments
}

research_only if {
	input.research_and_development
	not input.public_facing
}

prohibited_uses := {"subliminal-manipulation", "exploiting-vulnerabilities", "social-scoring", "crime-prediction-profiling", "untargeted-facial-scraping", "emotion-recognition-workplace-education", "biometric-categorisation-sensitive", "realtime-remote-biometric-identification"}

annex_iii_uses := {"biometric-identification", "emotion-recognition", "credit-scoring", "insurance-pricing", "recruitment", "worker-management", "exam-proctoring", "education-admission", "public-benefits", "law-enforcement", "migration-border", "judicial-decision", "election-influence"}

# Annex III by sector: education (3), employment (4), critical infrastructure (2), justice (8).
annex_iii_sectors := {"education", "employment", "critical-infrastructure", "justice"}

# Annex I products (medical devices, vehicles): Art. 6(1), indicative.
annex_i_sectors := {"healthcare", "transport"}

prohibited if {
	in_scope
	some u in input.eu_practices
	u in prohibited_uses
}

annex_iii if {
	in_scope
	some u in input.eu_practices
	u in annex_iii_uses
}

annex_iii if {
	in_scope
	input.sector in annex_iii_sectors
	input.algorithm_types != []
}

annex_i if {
	in_scope
	input.sector in annex_i_sectors
	input.algorithm_types != []
}

high_risk if annex_iii

high_risk if annex_i

gpai if {
	in_scope
	input.general_purpose_model
}

# Inferred: the Commission's GPAI guidelines (2025) treat a model trained with more than
# 1e23 FLOPs that generates language (text, audio) or images/video as general-purpose;
# Recital 98 points to models of at least a billion parameters. Only the model's provider
# (self-developed) is a GPAI provider here.
gpai_outputs := {"text", "image", "audio", "video"}

generates_language_or_images if {
	input.generative
	count(input.modalities) == 0
}

generates_language_or_images if {
	some m in input.modalities
	m in gpai_outputs
}

generates_language_or_images if "generation-synthesis" in input.algorithm_types

generates_language_or_images if {
	some f in input.deep_synthesis_functions
	f in {"dialogue", "text-generation", "image-generation", "video-generation", "voice-synthesis", "music-generation"}
}

# Nothing said about the outputs at all.
outputs_unknown if {
	not input.generative
	count(input.modalities) == 0
	count(input.deep_synthesis_functions) == 0
	not "generation-synthesis" in input.algorithm_types
}

gpai_scale if input.training_compute_flops > 1e23

gpai_scale if input.parameters >= 1000000000

# The model's own provider: self-developed, or a model described without a source.
model_provider if input.model_source in {"self-developed", "none"}

gpai if {
	in_scope
	model_provider
	gpai_scale
	generates_language_or_images
}

# Above the Art. 51(2) presumption a model is taken as general-purpose even when the
# profile says nothing of its outputs.
gpai if {
	in_scope
	model_provider
	outputs_unknown
	input.training_compute_flops > 1e25
}

gpai_facts := ["eu_market", "general_purpose_model"] if {
	input.general_purpose_model
} else := ["eu_market", "model_source", "training_compute_flops", "generative", "modalities"] if {
	input.training_compute_flops > 1e23
} else := ["eu_market", "model_source", "parameters", "generative", "modalities"]

# Art. 51(2): presumed systemic risk above 1e25 FLOPs.
systemic if {
	gpai
	input.training_compute_flops > 1e25
}

chatbot if {
	in_scope
	some f in input.deep_synthesis_functions
	f in {"dialogue", "digital-human"}
}

synthetic if {
	in_scope
	input.generative
}

deep_fake if {
	in_scope
	some f in input.deep_synthesis_functions
	f in {"face-swap", "face-generation", "face-manipulation", "voice-clone", "video-generation"}
}

tier := "out-of-scope" if {
	not in_scope
} else := "prohibited" if {
	prohibited
} else := "high-risk" if {
	high_risk
} else := "limited-risk" if {
	chatbot
} else := "limited-risk" if {
	synthetic
} else := "limited-risk" if {
	deep_fake
} else := "minimal-risk"

categories contains "annex-iii" if annex_iii

categories contains "annex-i-product" if annex_i

categories contains "gpai-model" if gpai

categories contains "gpai-systemic-risk" if systemic

categories contains "chatbot" if chatbot

categories contains "synthetic-content" if synthetic

categories contains "deep-fake" if deep_fake

obligations contains {"id": "eu.4.ai-literacy", "facts": ["eu_market"]} if in_scope

obligations contains {"id": "eu.5.prohibited", "facts": ["eu_market", "eu_practices"]} if prohibited

hr_facts := ["eu_market", "eu_practices"] if {
	some u in input.eu_practices
	u in annex_iii_uses
} else := ["eu_market", "sector", "algorithm_types"]

# Annex I products (Art. 6(1)) apply later than Annex III systems: their duties are the
# `.annex-i` entries of data.toml, which carry the date (in_force_from) and its source.
obligations contains {"id": concat("", [id, ".annex-i"]), "facts": hr_facts} if {
	annex_i
	not annex_iii
	some id in {"eu.9.risk-management", "eu.10.data-governance", "eu.11.technical-documentation", "eu.12.record-keeping", "eu.13.transparency-to-deployers", "eu.14.human-oversight", "eu.15.accuracy-robustness", "eu.17.quality-management", "eu.43.conformity-assessment", "eu.26.deployer-duties"}
}

obligations contains {"id": "eu.22.authorised-representative.annex-i", "facts": ["eu_market", "provider_location"]} if {
	annex_i
	not annex_iii
	not input.provider_location in eu_members
}

obligations contains {"id": id, "facts": hr_facts} if {
	annex_iii
	some id in {"eu.9.risk-management", "eu.10.data-governance", "eu.11.technical-documentation", "eu.12.record-keeping", "eu.13.transparency-to-deployers", "eu.14.human-oversight", "eu.15.accuracy-robustness", "eu.17.quality-management", "eu.43.conformity-assessment", "eu.26.deployer-duties"}
}

obligations contains {"id": "eu.49.registration", "facts": hr_facts} if annex_iii

obligations contains {"id": "eu.22.authorised-representative", "facts": ["eu_market", "provider_location"]} if {
	annex_iii
	not input.provider_location in eu_members
}

obligations contains {"id": "eu.50.1-interaction-disclosure", "facts": ["eu_market", "deep_synthesis_functions"]} if chatbot

obligations contains {"id": "eu.50.2-machine-readable-marking", "facts": ["eu_market", "generative"]} if {
	synthetic
	not placed_before_50
}

# Systems placed on the market before Art. 50 applied (the in_force_from of the duty in
# data.toml, given as data.in_force.obligation_from) mark their output later: the
# `.placed-before` entry, which carries that date and its source.
placed_before_50 if {
	input.launch_date != ""
	input.launch_date < data.in_force.obligation_from["eu.50.2-machine-readable-marking"]
}

obligations contains {"id": "eu.50.2-machine-readable-marking.placed-before", "facts": ["eu_market", "generative", "launch_date"]} if {
	synthetic
	placed_before_50
}

obligations contains {"id": "eu.50.4-deep-fake-disclosure", "facts": ["eu_market", "deep_synthesis_functions"]} if deep_fake

# Models placed on the market before the GPAI duties applied (the in_force_from of
# eu.53 in data.toml) comply later (Art. 111(3)): the `.placed-before` entries.
gpai_placed_before if {
	input.launch_date != ""
	input.launch_date < data.in_force.obligation_from["eu.53.gpai-provider"]
}

gpai_suffix := ".placed-before" if gpai_placed_before else := ""

obligations contains {"id": concat("", ["eu.53.gpai-provider", gpai_suffix]), "facts": gpai_launch_facts} if gpai

gpai_launch_facts := array.concat(gpai_facts, ["launch_date"]) if gpai_placed_before else := gpai_facts

obligations contains {"id": "eu.5.ncii-csam", "facts": ["eu_market", "generative", "modalities"]} if {
	synthetic
	some m in input.modalities
	m in {"image", "video", "audio"}
}

obligations contains {"id": concat("", ["eu.54.gpai-representative", gpai_suffix]), "facts": array.concat(gpai_launch_facts, ["provider_location"])} if {
	gpai
	not input.provider_location in eu_members
}

obligations contains {"id": concat("", ["eu.55.systemic-risk", gpai_suffix]), "facts": array.concat(gpai_launch_facts, ["training_compute_flops"])} if systemic

notes contains {"id": "sector-indicative", "facts": ["sector"]} if {
	high_risk
	not annex_iii_by_use
}

annex_iii_by_use if {
	some u in input.eu_practices
	u in annex_iii_uses
}

notes contains {"id": "application-dates", "facts": ["eu_market"]} if in_scope

notes contains {"id": "research-exclusion", "facts": ["research_and_development", "public_facing"]} if {
	input.eu_market
	research_only
}

eu_members := {"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"}
