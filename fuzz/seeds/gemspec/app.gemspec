# frozen_string_literal: true

Gem::Specification.new do |spec|
  spec.name          = "app"
  spec.version       = "1.0.0"
  spec.required_ruby_version = ">= 3.0"

  spec.add_dependency "activesupport", ">= 6.1", "< 8"
  spec.add_runtime_dependency("rack", "~> 3.0")
  spec.add_development_dependency "rspec", "~> 3.12"
  spec.add_dependency %q<thor>.freeze, [">= 1.0"]
end
